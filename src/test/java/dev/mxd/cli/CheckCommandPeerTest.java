package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.Tarpit;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code mxd check} end to end: zones served by real Knot DNS, MX hosts on 127.0.0.x answered by
 * real Postfix smtp-sink processes, a tarpit that never greets, and addresses where nothing listens.
 */
@PeerTest
class CheckCommandPeerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ZONES = Path.of("src/test/resources/zones/check");

    private static KnotServer knot;
    private static int port;
    private static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void startPeers() throws Exception {
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put("check.test", ZONES.resolve("check.test.zone"));
        zones.put("example.net", ZONES.resolve("example.net.zone"));
        zones.put("broken.test", ZONES.resolve("broken.test.zone"));
        knot = KnotServer.start(zones);
        // MX has no port: every host listens on the same one, as they would on 25.
        port = FreePort.tcpOn("127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25",
                "127.0.0.26", "127.0.0.27");
        peers.add(SmtpSink.start("127.0.0.21", port, "-h", "mx1.check.test"));
        peers.add(Tarpit.start("127.0.0.23", port));
        peers.add(SmtpSink.start("127.0.0.24", port, "-f", "CONNECT", "-B", "554 5.7.1 No SMTP service here"));
        peers.add(SmtpSink.start("127.0.0.25", port, "-f", "EHLO", "-h", "mx5.check.test"));
        peers.add(SmtpSink.start("127.0.0.26", port, "-W", "EHLO:20", "-h", "slow.check.test"));
        peers.add(Tarpit.start("127.0.0.27", port));
    }

    @AfterAll
    static void stopPeers() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        if (knot != null) {
            knot.close();
        }
    }

    private record Run(int exit, String out, String err, long millis) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + out + "\nstderr: " + err, e);
            }
        }
    }

    private static Run mxd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        long start = System.nanoTime();
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString(), (System.nanoTime() - start) / 1_000_000);
    }

    private static Run check(String domain, String... more) {
        List<String> args = new ArrayList<>(List.of("check", domain, "--dns", "127.0.0.1:" + knot.port(),
                "--port", String.valueOf(port)));
        args.addAll(List.of(more));
        return mxd(args.toArray(String[]::new));
    }

    /**
     * A DNS server that never answers: the MX lookup fails for now (exit 75), and the check does not ask the same silent
     * server for the TLS-RPT record too (which cost it one more whole timeout: 16 s where the issue allows 15).
     */
    @Test
    void aSilentDnsServerIsNotAskedForTheTlsRptRecordAfterTheMxLookupFailed() throws Exception {
        java.util.Set<String> asked = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (java.net.DatagramSocket silent = new java.net.DatagramSocket(new java.net.InetSocketAddress("127.0.0.1", 0))) {
            Thread listen = new Thread(() -> {
                byte[] buf = new byte[4096];
                while (!silent.isClosed()) {
                    try {
                        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                        silent.receive(p);
                        org.xbill.DNS.Message q = new org.xbill.DNS.Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                        asked.add(q.getQuestion().getName() + "/" + org.xbill.DNS.Type.string(q.getQuestion().getType()));
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            }, "silent-dns");
            listen.setDaemon(true);
            listen.start();
            Run run = mxd("check", "quiet.check.test", "--dns", "127.0.0.1:" + silent.getLocalPort(), "--dnssec", "off", "--json");
            assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(75);
            assertThat(asked).as("questions the silent server got").contains("quiet.check.test./MX")
                    .noneMatch(q -> q.startsWith("_smtp._tls."));
        }
    }

    private static JsonNode probeOf(JsonNode report, String host) {
        return stream(report.get("probes")).filter(p -> p.get("host").asText().equals(host)).findFirst()
                .orElseThrow(() -> new AssertionError("no probe of " + host + " in " + report.get("probes")));
    }

    private static List<JsonNode> findings(JsonNode report, String severity) {
        return stream(report.get("findings")).filter(f -> f.get("severity").asText().equals(severity)).toList();
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false);
    }

    @Test
    void workingDomainPassesWithProbeDetails() {
        Run run = check("good.check.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(0);
        JsonNode r = run.json();

        JsonNode mx1 = probeOf(r, "mx1.check.test");
        assertThat(mx1.get("address").asText()).isEqualTo("127.0.0.21");
        assertThat(mx1.get("port").asInt()).isEqualTo(port);
        assertThat(mx1.get("connectMillis").asLong()).isBetween(0L, 1000L);
        assertThat(mx1.get("banner").asText()).isEqualTo("220 mx1.check.test ESMTP");
        assertThat(mx1.get("ehlo").get(0).asText()).isEqualTo("mx1.check.test");
        assertThat(iterable(mx1.get("extensions").fieldNames()))
                .contains("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN", "AUTH").doesNotContain("STARTTLS");
        assertThat(mx1.get("extensions").get("AUTH")).extracting(JsonNode::asText).containsExactly("PLAIN", "LOGIN");
        assertThat(mx1.get("starttls").asBoolean()).isFalse();
        assertThat(mx1.get("error").isNull()).isTrue();

        JsonNode mx5 = probeOf(r, "mx5.check.test"); // refuses EHLO: HELO fallback, no extensions
        assertThat(mx5.get("esmtp").asBoolean()).isFalse();
        assertThat(mx5.get("extensions").size()).isZero();
        assertThat(mx5.get("error").isNull()).isTrue();

        assertThat(findings(r, "error")).isEmpty();
        assertThat(findings(r, "warning")).hasSize(2)
                .allSatisfy(f -> assertThat(f.get("message").asText()).contains("does not offer STARTTLS"));
        // Distinct preferences, greetings match, .test domain: a note for each loopback address (expected under a
        // special-use name, issue 2 point 5), and issue 17's, that --dnssec auto found no validating resolver (Knot
        // here is authoritative only) and so DNSSEC and DANE were not checked.
        assertThat(findings(r, "note")).extracting(f -> f.get("message").asText()).satisfiesExactlyInAnyOrder(
                m -> assertThat(m).startsWith("mx1.check.test has 127.0.0.21, a loopback address"),
                m -> assertThat(m).startsWith("mx5.check.test has 127.0.0.25, a loopback address"),
                m -> assertThat(m).contains("DNSSEC validation was off"));
    }

    @Test
    void jsonKeepsEveryLookupFieldUnderTheSameName() {
        JsonNode lookup = mxd("lookup", "good.check.test", "--dns", "127.0.0.1:" + knot.port(), "--json").json();
        JsonNode check = check("good.check.test", "--json").json();
        for (Iterator<String> it = lookup.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            assertThat(check.get(field)).as(field).isEqualTo(lookup.get(field));
        }
        assertThat(check.get("outcome").asText()).isEqualTo("routes");
        assertThat(check.get("probes").size()).isEqualTo(2);
    }

    @Test
    void everyKindOfBrokenHostIsReportedBesideAWorkingOne() {
        Run run = check("mixed.check.test", "--json", "--timeout", "1s", "--connect-timeout", "1s");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(1);
        JsonNode r = run.json();

        assertThat(probeOf(r, "mx1.check.test").get("error").isNull()).isTrue();
        JsonNode refused = probeOf(r, "refused.check.test");
        assertThat(refused.get("failure").asText()).isEqualTo("connect-refused");
        assertThat(refused.get("connectMillis").isNull()).isTrue();
        JsonNode tarpit = probeOf(r, "tarpit.check.test");
        assertThat(tarpit.get("failure").asText()).isEqualTo("greeting-timeout");
        assertThat(tarpit.get("banner").isNull()).isTrue();
        assertThat(tarpit.get("error").asText()).contains("no greeting within 1 s");
        JsonNode reject = probeOf(r, "reject.check.test");
        assertThat(reject.get("failure").asText()).isEqualTo("greeting-rejected");
        assertThat(reject.get("banner").asText()).isEqualTo("554 5.7.1 No SMTP service here");
        JsonNode slow = probeOf(r, "slow.check.test");
        assertThat(slow.get("failure").asText()).isEqualTo("ehlo-timeout");
        assertThat(slow.get("banner").asText()).isEqualTo("220 slow.check.test ESMTP");
        JsonNode alias = probeOf(r, "alias.check.test");
        assertThat(alias.get("address").asText()).isEqualTo("127.0.0.21");
        assertThat(stream(r.get("probes")).map(p -> p.get("host").asText()))
                .doesNotContain("noaddr.check.test", "127.0.0.29");

        assertThat(findings(r, "error")).extracting(f -> f.get("host").asText())
                .containsExactlyInAnyOrder("noaddr.check.test", "127.0.0.29");
        List<JsonNode> warnings = findings(r, "warning");
        assertThat(warnings).anySatisfy(f -> {
            assertThat(f.get("host").asText()).isEqualTo("alias.check.test");
            assertThat(f.get("message").asText()).contains("CNAME").contains("RFC 2181 §10.3");
        });
        for (String dead : List.of("refused.check.test", "tarpit.check.test", "reject.check.test", "slow.check.test")) {
            assertThat(warnings).as(dead).anySatisfy(f -> assertThat(f.get("host").asText()).isEqualTo(dead));
        }
        assertThat(findings(r, "note")).anySatisfy(f -> {
            assertThat(f.get("host").asText()).isEqualTo("alias.check.test");
            assertThat(f.get("message").asText()).contains("calls itself 'mx1.check.test'");
        });
        // Sorted: every error before every warning before every note.
        assertThat(stream(r.get("findings")).map(f -> f.get("severity").asText()).toList())
                .isSortedAccordingTo(java.util.Comparator.comparingInt(s -> List.of("error", "warning", "note").indexOf(s)));
    }

    @Test
    void domainWhoseHostsAllFailIsAnErrorAndTakesAboutOneTimeout() {
        Run run = check("dead.check.test", "--json", "--timeout", "5s", "--connect-timeout", "5s");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(1);
        JsonNode r = run.json();
        assertThat(r.get("probes").size()).isEqualTo(3);
        assertThat(stream(r.get("probes")).map(p -> p.get("failure").asText()))
                .containsExactlyInAnyOrder("connect-refused", "greeting-timeout", "greeting-timeout");
        assertThat(findings(r, "error")).singleElement().satisfies(f -> assertThat(f.get("message").asText())
                .contains("no MX host of dead.check.test accepted an SMTP session on port " + port));
        // Two tarpits of 5 s each: in series at least 10 s, in parallel 5 s and what the lookups and the JVM add.
        assertThat(run.millis()).isBetween(5_000L, 9_000L);
    }

    @Test
    void nullMxIsANoteAndPasses() {
        Run run = check("null.check.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(0);
        JsonNode r = run.json();
        assertThat(r.get("outcome").asText()).isEqualTo("null-mx");
        assertThat(r.get("probes").size()).isZero();
        assertThat(r.get("findings")).singleElement().satisfies(f -> {
            assertThat(f.get("severity").asText()).isEqualTo("note");
            assertThat(f.get("message").asText()).contains("RFC 7505");
        });
    }

    @Test
    void nonexistentDomainIsAnError() {
        Run run = check("nope.check.test", "--json");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(findings(run.json(), "error")).singleElement()
                .satisfies(f -> assertThat(f.get("message").asText()).contains("NXDOMAIN"));
    }

    @Test
    void implicitMxIsProbedAndNoted() {
        Run run = check("implicit.check.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(0);
        JsonNode r = run.json();
        assertThat(r.get("implicit").asBoolean()).isTrue();
        assertThat(probeOf(r, "implicit.check.test").get("banner").asText()).startsWith("220 mx1.check.test");
        assertThat(findings(r, "note")).anySatisfy(f -> assertThat(f.get("message").asText()).contains("implicit MX"));
    }

    @Test
    void twoMxNamesOnOneMachineAreNotRedundant() {
        JsonNode r = check("shared.check.test", "--json").json();
        assertThat(findings(r, "warning")).anySatisfy(f -> assertThat(f.get("message").asText())
                .contains("all 2 MX hosts of shared.check.test resolve to the one address 127.0.0.21"));
        assertThat(findings(r, "note")).anySatisfy(f -> assertThat(f.get("message").asText())
                .contains("share preference 10"));
    }

    @Test
    void loopbackMxOfAPublicDomainIsAWarning() {
        Run run = check("mail.example.net", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(0);
        assertThat(findings(run.json(), "warning")).anySatisfy(f -> assertThat(f.get("message").asText())
                .contains("127.0.0.21, a loopback address").contains("mail.example.net is a public domain"));
        assertThat(findings(check("good.check.test", "--json").json(), "warning"))
                .noneSatisfy(f -> assertThat(f.get("message").asText()).contains("loopback"));
    }

    @Test
    void dnsServerFailureExitsTemporary() {
        Run run = check("broken.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(75);
        assertThat(run.json().get("outcome").asText()).isEqualTo("temporary-failure");
    }

    @Test
    void humanOutputShowsTableProbesAndSortedFindings() {
        Run run = check("mixed.check.test", "--timeout", "1s", "--connect-timeout", "1s");
        assertThat(run.exit()).isEqualTo(1);
        String out = run.out();
        assertThat(out).contains("mixed.check.test: 6 mail exchangers", "PREF", "mx1.check.test", "SMTP probes, port " + port,
                "banner:     220 mx1.check.test ESMTP", "extensions: PIPELINING", "STARTTLS:   no",
                "(connect-refused)", "(greeting-timeout)", "findings: 2 errors,");
        int firstWarning = out.indexOf("\n  warning ");
        int firstNote = out.indexOf("\n  note ");
        assertThat(out.lastIndexOf("\n  error ")).isPositive().isLessThan(firstWarning);
        assertThat(out.lastIndexOf("\n  warning ")).isLessThan(firstNote);
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
