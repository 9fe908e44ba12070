package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The same zone files served by Knot DNS and by mxd, asked the same questions with the real
 * {@code dig}: over UDP with and without EDNS, with RD, with DO and CD, and over TCP. Rcode, header flags, EDNS
 * line, answer, authority and additional sections must agree (as sets: servers may order records
 * differently; names and data compared case-insensitively, TTLs included).
 */
@PeerTest
class DnsServerVersusKnotTest {

    static KnotServer knot;
    static DnsServer mxd;
    static Path digOutput;

    /** How dig asks. UDP modes use +ignore so a TC answer is what we compare, not dig's TCP retry. */
    enum Mode {
        UDP_EDNS("+ignore"),
        UDP_PLAIN("+ignore", "+noedns"),
        UDP_RD("+ignore", "+rec"),
        UDP_DNSSEC_CD("+ignore", "+dnssec", "+cd"),
        TCP("+tcp");

        final List<String> options;

        Mode(String... options) {
            this.options = List.of(options);
        }
    }

    /** One question, with what Knot and mxd must both say (so the pair cannot agree on nonsense). */
    record Case(String name, String type, String rcode, int minAnswers) {
        @Override
        public String toString() {
            return name + " " + type;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("srv.test", "MX", "NOERROR", 4),          // several preferences
                new Case("SRV.TEST", "MX", "NOERROR", 4),          // upper case
                new Case("WwW.SrV.TeSt", "A", "NOERROR", 3),       // mixed case through a CNAME chain
                new Case("mx1.srv.test", "A", "NOERROR", 1),
                new Case("mx3.srv.test", "AAAA", "NOERROR", 1),
                new Case("www.srv.test", "A", "NOERROR", 3),       // CNAME chain in the zone
                new Case("www.srv.test", "AAAA", "NOERROR", 3),
                new Case("www.srv.test", "CNAME", "NOERROR", 1),
                new Case("web.srv.test", "MX", "NOERROR", 1),      // chain ending in NODATA
                new Case("out.srv.test", "A", "NOERROR", 1),       // CNAME leaving the zone
                new Case("dangling.srv.test", "A", "NXDOMAIN", 1), // CNAME to a missing name
                new Case("nx.srv.test", "A", "NXDOMAIN", 0),
                new Case("deep.nx.srv.test", "MX", "NXDOMAIN", 0),
                new Case("mx1.srv.test", "MX", "NOERROR", 0),      // NODATA
                new Case("b.ent.srv.test", "A", "NOERROR", 0),     // empty non-terminal
                new Case("example.org", "MX", "REFUSED", 0),       // outside every zone
                new Case("test", "SOA", "REFUSED", 0),             // parent of a served zone
                new Case("srv.test", "NS", "NOERROR", 2),
                new Case("srv.test", "SOA", "NOERROR", 1),
                new Case("srv.test", "TXT", "NOERROR", 2),
                new Case("srv.test", "ANY", "NOERROR", 1),
                new Case("foo.wild.srv.test", "A", "NOERROR", 1),  // wildcard
                new Case("x.y.wild.srv.test", "MX", "NOERROR", 1),
                new Case("foo.wild.srv.test", "TXT", "NOERROR", 0),
                new Case("sub.srv.test", "A", "NOERROR", 0),       // delegation: referral
                new Case("host.sub.srv.test", "MX", "NOERROR", 0),
                new Case("sub.srv.test", "DS", "NOERROR", 0),
                new Case("big.srv.test", "MX", "NOERROR", 0),      // 60 MX: TC over UDP, whole over TCP
                new Case("relative.test", "MX", "NOERROR", 1),     // origin from the file name
                new Case("nope.relative.test", "A", "NXDOMAIN", 0));
    }

    static Stream<Arguments> questions() {
        return cases().stream().flatMap(c -> Arrays.stream(Mode.values()).map(m -> Arguments.of(c, m)));
    }

    @BeforeAll
    static void start() throws Exception {
        Path zones = Path.of("src/test/resources/zones/server").toAbsolutePath();
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("srv.test", zones.resolve("srv.test.zone"));
        files.put("relative.test", zones.resolve("relative.test.zone"));
        knot = KnotServer.start(files);
        List<ServedZone> served = new ArrayList<>();
        for (Path f : files.values()) {
            served.add(ServedZone.load(f));
        }
        mxd = DnsServer.start(new Zones(served), new InetSocketAddress("127.0.0.1", 0), DnsServer.Limits.defaults());
        digOutput = Files.createTempFile("mxd-dig", ".txt");
    }

    @AfterAll
    static void stop() throws IOException {
        if (mxd != null) {
            mxd.close();
        }
        if (knot != null) {
            knot.close();
        }
        if (digOutput != null) {
            Files.deleteIfExists(digOutput);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("questions")
    void mxdAnswersLikeKnot(Case c, Mode mode) throws Exception {
        Dig expected = dig(knot.port(), c, mode);
        Dig actual = dig(mxd.port(), c, mode);

        assertThat(expected.rcode()).as("Knot's status (is Knot serving the zones? %s)", knot.log()).isEqualTo(c.rcode());
        assertThat(actual).as("mxd versus Knot for %s %s", c, mode).isEqualTo(expected);
        if (c.name().equals("big.srv.test") && mode != Mode.TCP) {
            assertThat(actual.flags()).contains("tc");
            assertThat(actual.answer()).isEmpty();
        } else {
            assertThat(actual.flags()).doesNotContain("tc");
            assertThat(actual.answer().size()).isGreaterThanOrEqualTo(c.name().equals("big.srv.test") ? 60 : c.minAnswers());
        }
        assertThat(actual.flags()).doesNotContain("ra");
        assertThat(actual.flags().contains("rd")).isEqualTo(mode == Mode.UDP_RD);
    }

    /**
     * What dig printed, reduced to what must agree: status, flags, the EDNS lines and the
     * sections as sets of lower-cased, whitespace-normalised records.
     */
    record Dig(String rcode, Set<String> flags, List<String> edns, Set<String> answer, Set<String> authority,
               Set<String> additional) {}

    static Dig dig(int port, Case c, Mode mode) throws IOException, InterruptedException {
        return dig(port, c.name(), c.type(), mode.options);
    }

    /** Asks {@code name type} with dig's {@code options} and parses what it printed. */
    static Dig dig(int port, String name, String type, List<String> options) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("dig", "+norec", "+time=3", "+tries=1", "-p", String.valueOf(port),
                "@127.0.0.1", name, type));
        cmd.addAll(options);
        Path output = digOutput != null ? digOutput : Files.createTempFile("mxd-dig", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IOException("dig did not finish in 15 s: " + cmd);
            }
            String out = Files.readString(output, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IOException("dig exited with " + p.exitValue() + ": " + cmd + "\n" + out);
            }
            return parse(out);
        } finally {
            if (output != digOutput) {
                Files.deleteIfExists(output);
            }
        }
    }

    static Dig parse(String out) {
        String rcode = "";
        Set<String> flags = new LinkedHashSet<>();
        List<String> edns = new ArrayList<>();
        Map<String, Set<String>> sections = new LinkedHashMap<>();
        Set<String> current = null;
        for (String line : out.split("\n")) {
            if (line.startsWith(";; ->>HEADER<<-")) {
                rcode = line.replaceAll(".*status: ([A-Z]+).*", "$1");
            } else if (line.startsWith(";; flags:")) {
                String f = line.substring(";; flags:".length(), line.indexOf(';', ";; flags:".length())).strip();
                flags.addAll(f.isEmpty() ? List.of() : List.of(f.split("\\s+")));
            } else if (line.startsWith("; EDNS:") || line.startsWith("; EDE:")) {
                edns.add(line);
            } else if (line.matches(";; [A-Z]+ SECTION:")) {
                current = sections.computeIfAbsent(line.replaceAll(";; ([A-Z]+) SECTION:", "$1"), k -> new LinkedHashSet<>());
            } else if (line.isBlank() || line.startsWith(";")) {
                current = null;
            } else if (current != null) {
                current.add(String.join(" ", line.strip().split("\\s+")).toLowerCase(Locale.ROOT));
            }
        }
        return new Dig(rcode, flags, edns, sections.getOrDefault("ANSWER", Set.of()),
                sections.getOrDefault("AUTHORITY", Set.of()), sections.getOrDefault("ADDITIONAL", Set.of()));
    }
}
