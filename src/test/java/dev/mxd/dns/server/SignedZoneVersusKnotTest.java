package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Zones signed offline (NSEC by ldns-signzone, NSEC3 by ldns-signzone -n, NSEC3 with opt-out by
 * dnssec-signzone -A), served by Knot DNS and by mxd and asked the same questions with the real
 * {@code dig}, with and without DO: the RRSIGs, the NSEC or NSEC3 proofs, DS at the cuts and the
 * flags must agree as {@link DnsServerVersusKnotTest} compares them.
 */
@PeerTest
class SignedZoneVersusKnotTest {

    static final Path SIGNED = Path.of("src/test/resources/zones/server/signed").toAbsolutePath();

    /** Knot and mxd serving one signer's file each, started at the first question for it. */
    record Pair(KnotServer knot, DnsServer mxd) {}

    static final Map<String, Pair> servers = new java.util.HashMap<>();

    enum Mode {
        DNSSEC("+ignore", "+dnssec"),
        DNSSEC_CD("+ignore", "+dnssec", "+cd"),
        PLAIN("+ignore"),
        DNSSEC_TCP("+tcp", "+dnssec"),
        DNSSEC_SMALL("+ignore", "+dnssec", "+bufsize=512");

        final List<String> options;

        Mode(String... options) {
            this.options = List.of(options);
        }
    }

    static final List<String[]> QUESTIONS = List.of(
            new String[] {"signed.test", "MX"},            // positive, with signed addresses in the additional section
            new String[] {"signed.test", "DNSKEY"},
            new String[] {"signed.test", "SOA"},
            new String[] {"MX1.Signed.Test", "A"},         // case preserved, signatures unchanged
            new String[] {"www.signed.test", "A"},         // CNAME, then the target's A
            new String[] {"nx.signed.test", "A"},          // NXDOMAIN
            new String[] {"deep.nx.signed.test", "MX"},
            new String[] {"zzz.signed.test", "A"},         // past the last name of the chain
            new String[] {"mx1.signed.test", "MX"},        // NODATA
            new String[] {"b.ent.signed.test", "A"},       // empty non-terminal
            new String[] {"foo.wild.signed.test", "A"},    // wildcard expansion
            new String[] {"x.y.wild.signed.test", "MX"},
            new String[] {"foo.wild.signed.test", "TXT"},  // wildcard NODATA
            new String[] {"host.secure.signed.test", "A"}, // referral with DS
            new String[] {"secure.signed.test", "DS"},
            new String[] {"insecure.signed.test", "A"},    // referral without DS
            new String[] {"insecure.signed.test", "DS"},
            new String[] {"a.insecure.signed.test", "MX"},
            new String[] {"mx1.signed.test", "RRSIG"},     // the signatures at a name, DO or not (was NODATA)
            new String[] {"foo.wild.signed.test", "RRSIG"});

    static Stream<Arguments> questions() {
        return Stream.of("nsec", "nsec3", "optout").flatMap(signer -> QUESTIONS.stream()
                .flatMap(q -> Arrays.stream(Mode.values()).map(m -> Arguments.of(signer, q[0], q[1], m))));
    }

    @AfterAll
    static void stop() {
        for (Pair p : servers.values()) {
            p.mxd().close();
            p.knot().close();
        }
        servers.clear();
    }

    static Pair serving(String signer) throws Exception {
        Pair p = servers.get(signer);
        if (p == null) {
            Path file = SIGNED.resolve(signer).resolve("signed.test.zone");
            KnotServer knot = KnotServer.start(Map.of("signed.test", file));
            DnsServer mxd = DnsServer.start(new Zones(List.of(ServedZone.load(file))), new InetSocketAddress("127.0.0.1", 0),
                    DnsServer.Limits.defaults());
            p = new Pair(knot, mxd);
            servers.put(signer, p);
        }
        return p;
    }

    @ParameterizedTest(name = "{0}: {1} {2} {3}")
    @MethodSource("questions")
    void mxdAnswersASignedZoneLikeKnot(String signer, String name, String type, Mode mode) throws Exception {
        KnotServer knot = serving(signer).knot();
        DnsServer mxd = serving(signer).mxd();

        DnsServerVersusKnotTest.Dig expected = DnsServerVersusKnotTest.dig(knot.port(), name, type, mode.options);
        DnsServerVersusKnotTest.Dig actual = DnsServerVersusKnotTest.dig(mxd.port(), name, type, mode.options);

        assertThat(expected.rcode()).as("Knot's status (is Knot serving the zone? %s)", knot.log()).isIn("NOERROR", "NXDOMAIN");
        if (mode == Mode.DNSSEC_SMALL && expected.flags().contains("tc")) {
            // Knot sends a truncated answer with what fitted, mxd with header, question and OPT only (the
            // client asks again over TCP either way).
            assertThat(actual.rcode()).isEqualTo(expected.rcode());
            assertThat(actual.flags()).isEqualTo(expected.flags());
            assertThat(actual.answer()).isEmpty();
        } else {
            assertThat(actual).as("mxd versus Knot for %s %s %s", name, type, mode).isEqualTo(expected);
        }
        boolean dnssec = mode != Mode.PLAIN || type.equals("RRSIG");
        boolean truncated = actual.flags().contains("tc");
        if (!truncated) {
            assertThat(Stream.of(actual.answer(), actual.authority()).flatMap(java.util.Set::stream)
                    .anyMatch(r -> r.contains(" rrsig "))).as("RRSIGs in %s", actual).isEqualTo(dnssec);
        }
        assertThat(actual.flags()).doesNotContain("ad", "ra");
    }
}
