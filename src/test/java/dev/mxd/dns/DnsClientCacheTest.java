package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

/** The answer cache honours TTLs, negative TTLs (RFC 2308) and its size bound, against real Knot. */
@PeerTest
class DnsClientCacheTest {

    private static KnotServer knot;
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @BeforeAll
    static void start() throws Exception {
        knot = KnotServer.start("mx.test", MxResolutionContract.ZONES.resolve("mx.test.zone"));
    }

    @AfterAll
    static void stop() {
        knot.close();
    }

    private DnsClient client(int cacheSize) {
        DnsSettings s = DnsSettings.of(List.of(knot.address()));
        return new DnsClient(new DnsSettings(s.servers(), s.timeout(), s.attempts(), s.deadline(), s.maxCnameChain(),
                cacheSize, s.maxTtl()), now::get);
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void positiveAnswerIsCachedUntilItsTtlRunsOut() throws Exception {
        DnsClient dns = client(100);
        Name host = Name.fromString("host.ttl.mx.test.");
        assertThat(dns.query(host, Type.A)).isInstanceOf(DnsAnswer.Found.class);
        assertThat(dns.queriesSent()).isEqualTo(1);
        advance(Duration.ofSeconds(4)); // TTL is 5 s
        assertThat(dns.query(host, Type.A)).isInstanceOf(DnsAnswer.Found.class);
        assertThat(dns.queriesSent()).isEqualTo(1);
        assertThat(dns.cacheHits()).isEqualTo(1);
        advance(Duration.ofSeconds(2));
        assertThat(dns.query(host, Type.A)).isInstanceOf(DnsAnswer.Found.class);
        assertThat(dns.queriesSent()).isEqualTo(2);
    }

    /** The cache-only answer (client names on the event loop): nothing sent, the same expiry as a query's. */
    @Test
    void aCacheOnlyAnswerIsTheCachedOneAndAsksNobody() throws Exception {
        DnsClient dns = client(100);
        Name host = Name.fromString("host.ttl.mx.test.");
        assertThat(dns.cached(host, Type.A)).as("not asked yet").isNull();
        assertThat(dns.queriesSent()).isZero();
        DnsAnswer asked = dns.query(host, Type.A);
        assertThat(dns.cached(host, Type.A)).isEqualTo(asked);
        assertThat(dns.queriesSent()).isEqualTo(1);
        advance(Duration.ofSeconds(6)); // TTL is 5 s
        assertThat(dns.cached(host, Type.A)).as("expired").isNull();
        assertThat(dns.queriesSent()).isEqualTo(1);
    }

    @Test
    void nxdomainIsCachedForTheSoaNegativeTtl() throws Exception {
        DnsClient dns = client(100);
        Name ghost = Name.fromString("ghost.mx.test.");
        assertThat(dns.query(ghost, Type.MX)).isInstanceOf(DnsAnswer.NoSuchName.class);
        advance(Duration.ofSeconds(59)); // min(SOA TTL 300, MINIMUM 60) = 60 s
        assertThat(dns.query(ghost, Type.MX)).isInstanceOf(DnsAnswer.NoSuchName.class);
        assertThat(dns.queriesSent()).isEqualTo(1);
        advance(Duration.ofSeconds(2));
        dns.query(ghost, Type.MX);
        assertThat(dns.queriesSent()).isEqualTo(2);
    }

    @Test
    void nodataIsCachedForTheSoaNegativeTtl() throws Exception {
        DnsClient dns = client(100);
        Name nothing = Name.fromString("nothing.mx.test.");
        assertThat(dns.query(nothing, Type.MX)).isInstanceOf(DnsAnswer.NoData.class);
        advance(Duration.ofSeconds(30));
        assertThat(dns.query(nothing, Type.MX)).isInstanceOf(DnsAnswer.NoData.class);
        assertThat(dns.queriesSent()).isEqualTo(1);
        advance(Duration.ofSeconds(31));
        dns.query(nothing, Type.MX);
        assertThat(dns.queriesSent()).isEqualTo(2);
    }

    @Test
    void failuresAreNotCached() throws Exception {
        DnsClient dns = client(100);
        Name elsewhere = Name.fromString("elsewhere.example.");
        assertThat(dns.query(elsewhere, Type.MX)).isInstanceOf(DnsAnswer.Failed.class);
        long sent = dns.queriesSent();
        dns.query(elsewhere, Type.MX);
        assertThat(dns.queriesSent()).isGreaterThan(sent);
    }

    @Test
    void cacheIsBoundedAndDropsTheLeastRecentlyUsed() throws Exception {
        DnsClient dns = client(2);
        Name a = Name.fromString("a.multi.mx.test.");
        Name b = Name.fromString("b.multi.mx.test.");
        Name c = Name.fromString("c.multi.mx.test.");
        dns.query(a, Type.A);
        dns.query(b, Type.A);
        dns.query(a, Type.A); // a is now the most recently used
        dns.query(c, Type.A); // evicts b
        assertThat(dns.queriesSent()).isEqualTo(3);
        dns.query(a, Type.A);
        assertThat(dns.queriesSent()).isEqualTo(3);
        dns.query(b, Type.A);
        assertThat(dns.queriesSent()).isEqualTo(4);
    }

    @Test
    void cachedResolutionsStillShuffleEqualPreferences() {
        MxResolver resolver = new MxResolver(client(1000), MxPolicy.defaults());
        java.util.Set<String> firsts = new java.util.HashSet<>();
        for (int i = 0; i < 200; i++) {
            firsts.add(((MxOutcome.Routes) resolver.resolve("shuffle.mx.test")).hosts().get(0).name());
        }
        assertThat(firsts).hasSize(4);
    }
}
