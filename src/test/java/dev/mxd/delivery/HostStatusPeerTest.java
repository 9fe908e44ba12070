package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.Tarpit;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host status table against real next hops on 127.0.0.x (issue 13, case 8): a dead host is
 * probed by one delivery at a time once its retry time passes (counted at a tarpit that accepts
 * and never greets); a postponed address is tried last when every other address has failed; and
 * the operator's flush, through the admin API, forgets the hosts it flushes towards, so a
 * single-MX domain whose host came back gets its mail at once with the default host retry (60 s).
 */
@PeerTest
class HostStatusPeerTest {

    static final String ONLY = "127.0.0.81";
    static final String OTHER = "127.0.0.82";
    static final String PIT = "127.0.0.83";
    static final String FIRST = "127.0.0.84";
    static final String SECOND = "127.0.0.85";

    Path dir;
    int port;
    MxdDnsServer dns;
    final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-hosts");
        port = FreePort.tcpOn(ONLY, OTHER, PIT, FIRST, SECOND);
        Path zone = TestDirs.zone(dir, "hosts.test",
                "only IN A " + ONLY, "other IN A " + OTHER, "pit IN A " + PIT, "first IN A " + FIRST, "second IN A " + SECOND,
                "single MX 10 only", "elsewhere MX 10 other", "dead MX 10 pit", "two MX 10 first", "two MX 20 second");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /** Delivery by MX through the test zone; {@code extra} lines go under {@code delivery:}. */
    String config(String extra) {
        return "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  command-timeout: 5s\n  scan-interval: 200ms\n"
                + extra;
    }

    SmtpSink sink(String host) throws Exception {
        SmtpSink s = SmtpSink.start(host, port, "-d", dir.resolve("dumps-" + host) + "/%M.");
        peers.add(s);
        return s;
    }

    /** Messages at a sink whose text names {@code recipient}. */
    long arrived(String host, String recipient) throws IOException {
        return SinkDump.countWith(dir.resolve("dumps-" + host), recipient);
    }

    static boolean postponed(TestMx mx, String address) {
        return mx.mx().hostStatus().snapshot().stream()
                .anyMatch(s -> s.address().getAddress().getHostAddress().equals(address));
    }

    @Test
    void flushOfTheQueueForgetsDeadHostsSoASingleMxDomainIsTriedAtOnce() throws Exception {
        // Message retries an hour apart, host retry at its default (60 s): only the flush can bring the mail now.
        try (TestMx mx = TestMx.startWithAdmin(config("  retry: {first: 1h, max: 1h, give-up: 5d}\n"))) {
            String id = mx.sendTo("user@single.hosts.test");
            mx.awaitDeferred(id);
            assertThat(mx.mx().hostStatus().snapshot()).singleElement().satisfies(s -> {
                assertThat(s.address().getAddress().getHostAddress()).isEqualTo(ONLY);
                assertThat(s.retryAt()).isAfter(Instant.now().plusSeconds(30));
            });

            sink(ONLY); // the MX host comes back
            AdminHttp.Answer flushed = new AdminHttp(mx).send("POST", "/api/queue/flush");
            assertThat(flushed.status()).isEqualTo(200);
            assertThat(flushed.json().path("flushed").asInt()).isEqualTo(1);

            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> arrived(ONLY, "user@single.hosts.test") == 1);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> mx.mx().spool().state(id).isEmpty());
            assertThat(mx.mx().hostStatus().snapshot()).isEmpty();
        }
    }

    @Test
    void flushOfOneMessageForgetsTheHostsOfItsDestinationsOnly() throws Exception {
        try (TestMx mx = TestMx.startWithAdmin(config("  retry: {first: 1h, max: 1h, give-up: 5d}\n"))) {
            String id = mx.sendTo("user@single.hosts.test");
            String other = mx.sendTo("user@elsewhere.hosts.test"); // its host stays down
            mx.awaitDeferred(id);
            mx.awaitDeferred(other);
            assertThat(postponed(mx, ONLY)).isTrue();
            assertThat(postponed(mx, OTHER)).isTrue();

            sink(ONLY);
            assertThat(new AdminHttp(mx).send("POST", "/api/queue/" + id + "/flush").status()).isEqualTo(200);

            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> arrived(ONLY, "user@single.hosts.test") == 1);
            assertThat(postponed(mx, ONLY)).isFalse();
            assertThat(postponed(mx, OTHER)).as("a host the flushed message does not go to is still passed over").isTrue();
            assertThat(mx.mx().spool().state(other)).contains(QueueState.DEFERRED);
        }
    }

    @Test
    void oneDeliveryAtATimeProbesADeadHostOnceItsRetryTimePasses() throws Exception {
        Tarpit pit = Tarpit.start(PIT, port);
        peers.add(pit);
        // Each probe costs the greeting timeout (3 s); messages come back every second and must pass the host over.
        try (TestMx mx = TestMx.start(config("  greeting-timeout: 3s\n  concurrency: 20\n"
                + "  retry: {first: 1s, max: 1s, give-up: 1h}\n  host-retry: {first: 10s, max: 20s}\n"))) {
            mx.sendTo("first@dead.hosts.test");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> postponed(mx, PIT));
            assertThat(pit.accepted()).isEqualTo(1);
            for (int i = 0; i < 10; i++) {
                mx.sendTo("user" + i + "@dead.hosts.test");
            }
            Instant retry = mx.mx().hostStatus().snapshot().get(0).retryAt();
            assertThat(pit.accepted()).as("passed over during its retry time").isEqualTo(1);

            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Instant.now().isAfter(retry) && pit.accepted() >= 2);
            // The probe holds its connection for 3 s, then the host is postponed 20 s more: 11 messages, one connection.
            Awaitility.await().during(Duration.ofMillis(3500)).atMost(Duration.ofSeconds(5)).until(() -> pit.accepted() == 2);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> mx.mx().hostStatus().snapshot().get(0).failures() == 2);
            assertThat(pit.accepted()).isEqualTo(2);
            assertThat(mx.mx().hostStatus().snapshot()).singleElement().satisfies(s -> {
                assertThat(s.failures()).isEqualTo(2);
                assertThat(s.retryAt()).isAfter(retry.plusSeconds(3));
            });
        }
    }

    @Test
    void aPostponedAddressIsTriedLastWhenEveryOtherOneFails() throws Exception {
        SmtpSink second = sink(SECOND);
        try (TestMx mx = TestMx.start(config("  retry: {first: 1h, max: 1h, give-up: 5d}\n"))) {
            mx.sendTo("one@two.hosts.test"); // the first MX refuses: the second takes it
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> arrived(SECOND, "one@two.hosts.test") == 1);
            assertThat(postponed(mx, FIRST)).isTrue();

            second.close(); // the second goes down, the first comes back within its retry time
            sink(FIRST);
            String id = mx.sendTo("two@two.hosts.test");
            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> arrived(FIRST, "two@two.hosts.test") == 1);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> mx.mx().spool().state(id).isEmpty());
            assertThat(postponed(mx, FIRST)).as("its probe succeeded").isFalse();
            assertThat(postponed(mx, SECOND)).isTrue();
        }
    }
}
