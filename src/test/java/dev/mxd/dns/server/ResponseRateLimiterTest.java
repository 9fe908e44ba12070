package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.dns.server.ResponseRateLimiter.Verdict;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token buckets of the rate limit, on a clock the test moves. */
class ResponseRateLimiterTest {

    private final AtomicLong now = new AtomicLong(123_456_789_000L);

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    List<Verdict> ask(ResponseRateLimiter l, String client, int times) throws Exception {
        List<Verdict> out = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            out.add(l.verdict(ip(client)));
        }
        return out;
    }

    @Test
    void aBurstOfTheRateThenEverySlipthIsTruncatedAndTheRestDropped() throws Exception {
        ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(20, 2), now::get);
        assertThat(ask(l, "192.0.2.1", 20)).containsOnly(Verdict.ANSWER);
        // same /24; the first limited answer is the truncated one, so a client asking one question after another
        // meets the limit as a TC it can follow over TCP, not as a drop that costs it its timeout
        assertThat(ask(l, "192.0.2.77", 6)).containsExactly(Verdict.SLIP, Verdict.DROP, Verdict.SLIP, Verdict.DROP,
                Verdict.SLIP, Verdict.DROP);
        assertThat(ask(new ResponseRateLimiter(ResponseRateLimit.DEFAULT, now::get), "192.0.2.1", 24))
                .as("the default: slip 1, every limited answer truncated (as Knot)")
                .containsExactlyElementsOf(java.util.stream.Stream.concat(java.util.Collections.nCopies(20, Verdict.ANSWER).stream(),
                        java.util.Collections.nCopies(4, Verdict.SLIP).stream()).toList());
        assertThat(ask(l, "192.0.3.1", 20)).as("another /24").containsOnly(Verdict.ANSWER);
    }

    /**
     * One limiter serves every UDP socket's thread (a wildcard listen has one a local address): two threads answering
     * one network together get no more answers than its burst. Unsynchronised, each lost update of a bucket let an
     * answer more through.
     */
    @Test
    void threadsSharingTheLimiterGetNoMoreThanTheBurst() throws Exception {
        int rate = 100_000;
        for (int round = 1; round <= 8; round++) { // a lost update needs the two threads to meet: give them many chances
            ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(rate, 0), now::get);
            InetAddress client = ip("203.0.113." + round);
            java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            Runnable ask = () -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                int mine = 0;
                for (int i = 0; i < 2 * rate; i++) {
                    if (l.verdict(client, 7) == Verdict.ANSWER) {
                        mine++;
                    }
                }
                answered.addAndGet(mine);
            };
            Thread a = new Thread(ask);
            Thread b = new Thread(ask);
            a.start();
            b.start();
            a.join(60_000);
            b.join(60_000);
            assertThat(answered.get()).as("round " + round).isEqualTo(rate);
        }
    }

    @Test
    void tokensComeBackAtTheRate() throws Exception {
        ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(10, 0), now::get);
        assertThat(ask(l, "198.51.100.9", 10)).containsOnly(Verdict.ANSWER);
        assertThat(ask(l, "198.51.100.9", 3)).containsOnly(Verdict.DROP);
        now.addAndGet(100_000_000L); // 0.1 s: one answer's worth
        assertThat(ask(l, "198.51.100.9", 2)).containsExactly(Verdict.ANSWER, Verdict.DROP);
        now.addAndGet(5_000_000_000L); // long quiet: a full burst again, not more
        assertThat(ask(l, "198.51.100.9", 11)).containsExactly(Verdict.ANSWER, Verdict.ANSWER, Verdict.ANSWER,
                Verdict.ANSWER, Verdict.ANSWER, Verdict.ANSWER, Verdict.ANSWER, Verdict.ANSWER, Verdict.ANSWER,
                Verdict.ANSWER, Verdict.DROP);
    }

    @Test
    void ipv6ClientsAreCountedBySlash56() throws Exception {
        ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(2, 1), now::get);
        assertThat(ask(l, "2001:db8:0:1100::1", 2)).containsOnly(Verdict.ANSWER);
        assertThat(ask(l, "2001:db8:0:11ff:ffff::2", 1)).as("same /56").containsExactly(Verdict.SLIP);
        assertThat(ask(l, "2001:db8:0:1200::1", 1)).as("next /56").containsExactly(Verdict.ANSWER);
        assertThat(ResponseRateLimiter.describe(ip("2001:db8:0:11ff::2"))).isEqualTo("2001:db8:0:1100:0:0:0:0/56");
        assertThat(ResponseRateLimiter.describe(ip("192.0.2.200"))).isEqualTo("192.0.2.0/24");
    }

    /**
     * What counts as the same answer (QueryResponder.rateKey, as BIND's and NSD's RRL classify):
     * data by name and type (case folded); a wildcard's answers by zone and type, whatever the name;
     * NODATA and NXDOMAIN by zone, whatever the name or type; a referral by its cut; errors alike.
     */
    @Test
    void answersAreTheSameByNameAndTypeButWildcardsNegativesAndReferralsByZoneOrCut() throws Exception {
        QueryResponder r = new QueryResponder(new Zones(List.of(ServedZoneTest.srv())));
        java.util.function.BiFunction<String, Integer, Long> key = (name, type) -> {
            byte[] q = DnsServerTest.query(name, type).toWire();
            return r.respondRated(q, q.length, QueryResponder.Transport.UDP, new java.net.InetSocketAddress("127.0.0.1", 5300)).orElseThrow().rateKey();
        };
        int a = org.xbill.DNS.Type.A;
        assertThat(key.apply("mx1.srv.test.", a)).isEqualTo(key.apply("MX1.SRV.test.", a))
                .isNotEqualTo(key.apply("mx2.srv.test.", a)).isNotEqualTo(key.apply("mx1.srv.test.", org.xbill.DNS.Type.AAAA));
        assertThat(key.apply("one.wild.srv.test.", a)).as("wildcard answers").isEqualTo(key.apply("two.wild.srv.test.", a));
        assertThat(key.apply("mx1.srv.test.", org.xbill.DNS.Type.TXT)).as("NODATA, any type")
                .isEqualTo(key.apply("mx1.srv.test.", org.xbill.DNS.Type.CAA)).isEqualTo(key.apply("mx2.srv.test.", org.xbill.DNS.Type.TXT));
        assertThat(key.apply("x.srv.test.", a)).as("NXDOMAIN, any name").isEqualTo(key.apply("y.srv.test.", org.xbill.DNS.Type.MX));
        assertThat(key.apply("a.sub.srv.test.", a)).as("referrals by cut").isEqualTo(key.apply("b.sub.srv.test.", org.xbill.DNS.Type.MX));
        byte[] noQuestion = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}; // counts a question it does not hold: FORMERR
        assertThat(key.apply("outside.test.", a)).as("REFUSED as FORMERR").isEqualTo(r.respondRated(noQuestion, noQuestion.length,
                QueryResponder.Transport.UDP, new java.net.InetSocketAddress("127.0.0.1", 5300)).orElseThrow().rateKey());
        assertThat(java.util.stream.Stream.of(key.apply("mx1.srv.test.", a), key.apply("x.srv.test.", a),
                key.apply("mx1.srv.test.", org.xbill.DNS.Type.TXT), key.apply("a.sub.srv.test.", a), key.apply("outside.test.", a)))
                .doesNotHaveDuplicates().doesNotContain(0L);
        ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(2, 0), now::get);
        long k1 = key.apply("mx1.srv.test.", a);
        long k2 = key.apply("mx2.srv.test.", a);
        assertThat(List.of(l.verdict(ip("192.0.2.1"), k1), l.verdict(ip("192.0.2.1"), k1), l.verdict(ip("192.0.2.1"), k1)))
                .containsExactly(Verdict.ANSWER, Verdict.ANSWER, Verdict.DROP);
        assertThat(l.verdict(ip("192.0.2.1"), k2)).as("another answer to the same network").isEqualTo(Verdict.ANSWER);
    }

    @Test
    void offAnswersEverything() throws Exception {
        ResponseRateLimiter l = new ResponseRateLimiter(ResponseRateLimit.OFF, now::get);
        assertThat(ask(l, "192.0.2.1", 1_000)).containsOnly(Verdict.ANSWER);
    }

    @Test
    void aFloodFromManyNetworksDoesNotResetABusyOne() throws Exception {
        ResponseRateLimiter l = new ResponseRateLimiter(new ResponseRateLimit(5, 0), now::get);
        assertThat(ask(l, "203.0.113.1", 6)).endsWith(Verdict.DROP);
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                l.verdict(ip("10." + a + "." + b + ".1"));
            }
            assertThat(l.verdict(ip("203.0.113.1"))).isEqualTo(Verdict.DROP);
        }
    }

    @Test
    void limitsAreChecked() {
        assertThatThrownBy(() -> new ResponseRateLimit(-1, 2)).hasMessageContaining("0 (off)");
        assertThatThrownBy(() -> new ResponseRateLimit(20, 101)).hasMessageContaining("slip must be 0");
    }
}
