package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.ServfailSwitch;
import dev.mxd.testing.TestDirs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

/**
 * Answers a resolver meets from broken or hostile zones, against mxd's own server behind a relay that can
 * drop chosen questions: an AAAA record holding an IPv4-mapped address, an MX target named localhost, a
 * CNAME chain one of whose questions is lost, and a resolution whose time runs out before the exchange
 * that is this host was looked up while a worse exchange's addresses are in the cache.
 */
class MxResolutionEdgeTest {

    private static final Duration BUDGET = Duration.ofMillis(2000); // seconds, not tenths: a stall of the machine must not eat an answer's time

    private Path dir;
    private MxdDnsServer dns;
    private ServfailSwitch relay;

    @BeforeEach
    void zones() throws Exception {
        dir = Files.createTempDirectory("mxd-mxedge");
        Path edge = TestDirs.zone(dir, "edge.test",
                "mapped MX 10 m", "m IN AAAA ::ffff:10.0.0.5", "m IN A 127.0.0.7",
                "onlymapped MX 10 om", "om IN AAAA ::ffff:10.0.0.6",
                "lo MX 10 localhost.",
                "chain MX 10 a1", "a1 CNAME a2.other.test.",
                "backup MX 10 silent1", "backup MX 11 silent2", "backup MX 12 silent3", "backup MX 13 silent4",
                "backup MX 14 silent5", "backup MX 20 me", "backup MX 30 fine",
                "solo MX 10 fine", "fine IN A 127.0.0.2", "me IN A 127.0.0.50",
                "silent1 IN A 127.0.0.11", "silent2 IN A 127.0.0.12", "silent3 IN A 127.0.0.13", "silent4 IN A 127.0.0.14",
                "silent5 IN A 127.0.0.15");
        Path other = TestDirs.zone(dir, "other.test", "a2 CNAME a3", "a3 IN A 127.0.0.3", "a3 IN AAAA ::1");
        dns = MxdDnsServer.start(List.of(edge, other), new InetSocketAddress("127.0.0.1", 0));
        relay = new ServfailSwitch(new InetSocketAddress("127.0.0.1", 0), dns.address());
    }

    @AfterEach
    void stop() throws Exception {
        relay.close();
        dns.close();
        TestDirs.deleteTree(dir);
    }

    private DnsClient client() {
        return new DnsClient(new DnsSettings(List.of(relay.address()), Duration.ofMillis(800), 2, BUDGET, 8, 100, Duration.ofDays(1)));
    }

    private static MxOutcome.Routes routes(MxOutcome o) {
        assertThat(o).as(o.error().orElse("")).isInstanceOf(MxOutcome.Routes.class);
        return (MxOutcome.Routes) o;
    }

    /**
     * Two servers that fail a question in two ways: the reason names both, in the order asked. Only the last was
     * kept, so a SERVFAIL of the first (the real trouble) read as the REFUSED of an authoritative-only second.
     */
    @Test
    void eachServersProblemIsSaid() {
        relay.fail("x.nowhere.test", Type.MX); // the relay says SERVFAIL; mxd dns, which does not serve the name, REFUSED
        DnsClient two = new DnsClient(new DnsSettings(List.of(relay.address(), dns.address()), Duration.ofMillis(800), 1, BUDGET, 8,
                100, Duration.ofDays(1)));
        MxOutcome o = new MxResolver(two, MxPolicy.defaults()).resolve("x.nowhere.test");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.error()).hasValueSatisfying(e -> assertThat(e)
                .containsSubsequence(relay.address().getPort() + " answered SERVFAIL", dns.address().getPort() + " answered REFUSED"));
    }

    /** ::ffff:10.0.0.5 in an AAAA record is no IPv6 address: not used, said, and never reached past ipv6-only. */
    @Test
    void anIpv4MappedAaaaRecordIsNotUsed() {
        MxHost m = routes(new MxResolver(client(), MxPolicy.defaults()).resolve("mapped.edge.test")).hosts().get(0);
        assertThat(m.addresses()).extracting(InetAddress::getHostAddress).containsExactly("127.0.0.7");
        assertThat(m.warnings()).anySatisfy(w -> assertThat(w).contains("IPv4-mapped").contains("not used"));

        MxOutcome v6only = new MxResolver(client(), MxPolicy.defaults().withAddressOrder(AddressOrder.IPV6_ONLY))
                .resolve("onlymapped.edge.test");
        assertThat(v6only).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(v6only.skipped()).singleElement().satisfies(s -> assertThat(s.reason()).contains("IPv4-mapped"));
    }

    /** RFC 6761 §6.3: an exchange named localhost is the loopback address, as the domain or a relay host is. */
    @Test
    void anExchangeNamedLocalhostIsTheLoopbackWithoutDns() throws Exception {
        MxHost lo = routes(new MxResolver(client(), MxPolicy.defaults().withAddressOrder(AddressOrder.IPV4_ONLY))
                .resolve("lo.edge.test")).hosts().get(0);
        assertThat(lo.name()).isEqualTo("localhost");
        assertThat(lo.addresses()).extracting(InetAddress::getHostAddress).containsExactly("127.0.0.1");

        MxOutcome self = new MxResolver(client(), MxPolicy.defaults()
                .withLocalAddresses(List.of(InetAddress.getByName("127.0.0.1")))).resolve("lo.edge.test");
        assertThat(self).isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(self.status()).hasToString("5.4.6");
    }

    /**
     * a1 -> a2.other.test -> a3: the AAAA question for a2 is lost, the A answer comes through the whole chain.
     * The expanded name (DANE's TLSA base, RFC 7672 §2.2.2) is where the addresses were found, a3, not a2 where
     * the lost question stopped.
     */
    @Test
    void theExpandedNameIsWhereTheAddressesWereFound() {
        relay.drop("a2.other.test.", Type.AAAA);
        MxHost a1 = routes(new MxResolver(client(), MxPolicy.defaults()).resolve("chain.edge.test")).hosts().get(0);
        assertThat(a1.addresses()).extracting(InetAddress::getHostAddress).containsExactly("127.0.0.3");
        assertThat(a1.alias()).isEqualTo("a3.other.test");
        assertThat(a1.warnings()).anySatisfy(w -> assertThat(w).contains("CNAME"));
    }

    /**
     * Five better exchanges whose zone does not answer use up the resolution's time. The next one is this host
     * (by its address), not looked up; a worse exchange's addresses are in the cache. Were the worse one used, this
     * backup would relay to a worse backup (RFC 5321 §5.1 drops it): every exchange left counts as a failed
     * lookup, and the mail waits.
     */
    @Test
    void whenTheTimeRunsOutNoWorseExchangeIsTakenFromTheCache() throws Exception {
        DnsClient client = client();
        MxPolicy me = MxPolicy.defaults().withLocalAddresses(List.of(InetAddress.getByName("127.0.0.50")));
        assertThat(routes(new MxResolver(client, me).resolve("solo.edge.test")).hosts()).extracting(MxHost::name)
                .containsExactly("fine.edge.test"); // fine's addresses now cached
        for (String silent : List.of("silent1", "silent2", "silent3", "silent4", "silent5", "me")) {
            relay.drop(silent + ".edge.test.", Type.A);
            relay.drop(silent + ".edge.test.", Type.AAAA);
        }
        MxOutcome o = new MxResolver(client, me).resolve("backup.edge.test");
        assertThat(o).as("a backup MX whose better exchanges are silent").isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.skipped()).extracting(SkippedHost::name).contains("me.edge.test", "fine.edge.test");
        assertThat(o.skipped()).filteredOn(s -> s.name().equals("fine.edge.test")).singleElement()
                .satisfies(s -> assertThat(s.reason()).contains("time ran out"));
    }

    /** RFC 2181 §8: a TTL with the top bit set is taken as zero, not as 68 years (capped at the longest kept). */
    @Test
    void aTtlWithTheTopBitSetCountsAsZero() {
        assertThat(DnsClient.ttlOf(0x7fffffffL)).isEqualTo(0x7fffffffL);
        assertThat(DnsClient.ttlOf(0x80000000L)).isZero();
        assertThat(DnsClient.ttlOf(0xffffffffL)).isZero();
        assertThat(DnsClient.ttlOf(300)).isEqualTo(300);
    }
}
