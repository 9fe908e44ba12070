package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.ServfailSwitch;
import dev.mxd.testing.TestDirs;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

/**
 * How the time of one MX resolution is shared: each exchange's address lookups have a question's
 * budget of their own, so a zone that never answers for the best exchange does not leave the next
 * one without time; and the whole resolution ends after three budgets however many exchanges do
 * not answer. A relay in front of a real zone drops the questions of the silent exchanges.
 */
class MxResolutionTimeTest {

    private static final Duration BUDGET = Duration.ofMillis(2000); // seconds, not tenths: a stall of the machine must not eat an answer's time

    private Path dir;
    private MxdDnsServer dns;
    private ServfailSwitch relay;

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-mxtime");
        List<String> records = new ArrayList<>(List.of("pair MX 10 silent1", "pair MX 20 fine", "solo MX 10 fine",
                "three MX 10 silent1", "three MX 20 silent2", "three MX 30 fine", "fine IN A 127.0.0.2"));
        for (int i = 1; i <= 8; i++) {
            records.add("many MX " + (10 * i) + " silent" + i);
            records.add("silent" + i + " IN A 127.0.0." + (10 + i));
        }
        dns = MxdDnsServer.start(List.of(TestDirs.zone(dir, "time.test", records.toArray(String[]::new))),
                new InetSocketAddress("127.0.0.1", 0));
        relay = new ServfailSwitch(new InetSocketAddress("127.0.0.1", 0), dns.address());
        for (int i = 1; i <= 8; i++) {
            relay.drop("silent" + i + ".time.test.", Type.A);
            relay.drop("silent" + i + ".time.test.", Type.AAAA);
        }
    }

    @AfterEach
    void stop() throws Exception {
        relay.close();
        dns.close();
        TestDirs.deleteTree(dir);
    }

    private MxResolver resolver() {
        DnsSettings settings = new DnsSettings(List.of(relay.address()), Duration.ofMillis(800), 2, BUDGET, 8, 100, Duration.ofDays(1));
        return new MxResolver(new DnsClient(settings), MxPolicy.defaults());
    }

    @Test
    void theNextExchangeHasItsOwnTimeWhenTheBestOnesZoneDoesNotAnswer() {
        MxOutcome o = resolver().resolve("pair.time.test");
        assertThat(o).isInstanceOf(MxOutcome.Routes.class);
        assertThat(((MxOutcome.Routes) o).hosts()).extracting(MxHost::name).containsExactly("fine.time.test");
        assertThat(o.skipped()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("silent1.time.test");
            assertThat(s.cause()).isEqualTo(SkippedHost.Cause.LOOKUP_FAILED);
        });
    }

    /** Two exchanges whose zone is silent cost a budget each (their AAAA and A questions share it): the third is used. */
    @Test
    void twoSilentExchangesLeaveTheThirdItsTime() {
        MxOutcome o = resolver().resolve("three.time.test");
        assertThat(o).as(o.error().orElse("")).isInstanceOf(MxOutcome.Routes.class);
        assertThat(((MxOutcome.Routes) o).hosts()).extracting(MxHost::name).containsExactly("fine.time.test");
    }

    /**
     * A server that never answers AAAA questions (RFC 4074) for a host with an A record: the AAAA
     * question, asked of two servers, would outlast a question's budget; it gets half, and the A question the rest of
     * it, and the host is used (it was skipped as a failed lookup, the mail deferred for ever).
     */
    @Test
    void anUnansweredAaaaQuestionLeavesTheAQuestionItsOwnTime() {
        relay.drop("fine.time.test.", Type.AAAA);
        DnsSettings twoServers = new DnsSettings(List.of(relay.address(), relay.address()), Duration.ofMillis(800), 2, BUDGET,
                8, 100, Duration.ofDays(1));
        MxOutcome o = new MxResolver(new DnsClient(twoServers), MxPolicy.defaults()).resolve("solo.time.test");
        assertThat(o).as(o.error().orElse("")).isInstanceOf(MxOutcome.Routes.class);
        MxHost fine = ((MxOutcome.Routes) o).hosts().get(0);
        assertThat(fine.name()).isEqualTo("fine.time.test");
        assertThat(fine.addresses()).extracting(java.net.InetAddress::getHostAddress).containsExactly("127.0.0.2");
        assertThat(fine.warnings()).anySatisfy(w -> assertThat(w).contains("AAAA lookup"));
    }

    @Test
    void aResolutionEndsAfterThreeBudgetsHoweverManyExchangesAreSilent() {
        long start = System.nanoTime();
        MxOutcome o = resolver().resolve("many.time.test");
        long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.skipped()).hasSize(8).allSatisfy(s -> assertThat(s.cause()).isEqualTo(SkippedHost.Cause.LOOKUP_FAILED));
        assertThat(o.status()).hasToString("4.4.3"); // the lookups failed: the directory's trouble, not the routing's 4.4.4
        assertThat(took).as("eight silent exchanges, %d ms", took).isLessThan(3 * BUDGET.toMillis() + 3000);
    }
}
