package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PolicyServer;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * MTA-STS end to end: a real HTTPS server (Python's http.server wrapped with ssl, on port 443) serves the
 * policies of the sts.test domains with a certificate from a private CA, which mxd trusts through
 * delivery.tls.ca-file; the zone (mxd dns) has the {@code _mta-sts} TXT records and the policy hosts'
 * addresses. The MX hosts are Postfix smtpd instances offering STARTTLS with certificates from the same
 * CA: mx1.sts.test at {@link #P1} (its certificate names mx1.sts.test only; wrong.sts.test points there
 * too), mx2.sts.test at {@link #P2}; each relays what it takes to its own smtp-sink, so a message's sink
 * tells which MX host took it.
 */
@PeerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MtaStsDeliveryPeerTest {

    static final String P1 = "127.0.0.91";
    static final String P2 = "127.0.0.92";
    static final String WEB = "127.0.0.93";
    static final String S1 = "127.0.0.94";
    static final String S2 = "127.0.0.95";
    static final String DOMAINS = "enf.sts.test skip.sts.test bad.sts.test tst.sts.test cch.sts.test esc.sts.test none.sts.test";

    static Path dir;
    static Path ca;
    static Path webLog;
    static int port;
    static InetSocketAddress dnsAddress;
    static MxdDnsServer dns;
    static PolicyServer web;
    static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-mta-sts");
        ca = dir.resolve("ca.pem");
        Path caKey = dir.resolve("ca.key");
        Certificates.privateCa(ca, caKey);
        Certificates.issuedBy(ca, caKey, dir.resolve("mx1.pem"), dir.resolve("mx1.key"), "mx1.sts.test");
        Certificates.issuedBy(ca, caKey, dir.resolve("mx2.pem"), dir.resolve("mx2.key"), "mx2.sts.test");
        Certificates.issuedBy(ca, caKey, dir.resolve("web.pem"), dir.resolve("web.key"),
                Stream.of(DOMAINS.split(" ")).map(d -> "mta-sts." + d).toArray(String[]::new));
        policy("enf.sts.test", "enforce", "mx1.sts.test");
        policy("skip.sts.test", "enforce", "mx1.sts.test");
        policy("bad.sts.test", "enforce", "wrong.sts.test");
        policy("tst.sts.test", "testing", "*.sts.test");
        policy("cch.sts.test", "enforce", "mx1.sts.test");
        policy("esc.sts.test", "\u001b]0;owned\u0007\u001b[2J", "mx1.sts.test"); // a policy host that writes to the terminal
        policy("none.sts.test", "enforce", "mx1.sts.test"); // its only MX is mx2: the policy leaves none
        dnsAddress = new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1"));
        serveZone("1");
        startWeb();

        port = FreePort.tcpOn(P1, P2);
        int sinkPort = FreePort.tcpOn(S1, S2);
        peers.add(SmtpSink.start(S1, sinkPort, "-d", dir.resolve("dumps-" + S1) + "/%M."));
        peers.add(SmtpSink.start(S2, sinkPort, "-d", dir.resolve("dumps-" + S2) + "/%M."));
        peers.add(postfix(P1, "mx1", S1, sinkPort));
        peers.add(postfix(P2, "mx2", S2, sinkPort));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        if (web != null) {
            web.close();
        }
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    private static PostfixServer postfix(String address, String name, String sink, int sinkPort) throws Exception {
        return PostfixServer.start(address + ":" + port, DOMAINS, "[" + sink + "]:" + sinkPort,
                List.of("smtpd_tls_cert_file = " + dir.resolve(name + ".pem"), "smtpd_tls_key_file = " + dir.resolve(name + ".key"),
                        "smtpd_tls_received_header = yes"));
    }

    private static void policy(String domain, String mode, String... mx) throws IOException {
        PolicyServer.policy(dir.resolve("web"), domain, mode, 86400, mx);
    }

    /** (Re)starts the DNS server on {@link #dnsAddress}; {@code cchId} is cch.sts.test's policy id (its TXT record has TTL 0). */
    private static void serveZone(String cchId) throws Exception {
        if (dns != null) {
            dns.close();
        }
        List<String> records = new ArrayList<>(List.of(
                "mx1 IN A " + P1, "mx2 IN A " + P2, "wrong IN A " + P1,
                "enf MX 10 mx1",
                "skip MX 10 mx2", "skip MX 20 mx1",
                "bad MX 10 wrong",
                "tst MX 10 wrong",
                "cch MX 10 mx1", "cch MX 20 mx2",
                "esc MX 10 mx1",
                "none MX 10 mx2",
                "_mta-sts.cch 0 IN TXT \"v=STSv1; id=" + cchId + "\""));
        for (String d : List.of("enf", "skip", "bad", "tst", "esc", "none")) {
            records.add("_mta-sts." + d + " IN TXT \"v=STSv1; id=20261203\"");
        }
        for (String d : DOMAINS.split(" ")) {
            records.add("mta-sts." + d.substring(0, d.indexOf('.')) + " IN A " + WEB);
        }
        Path zone = TestDirs.zone(dir, "sts.test", records.toArray(String[]::new));
        dns = MxdDnsServer.start(List.of(zone), dnsAddress);
    }

    private static void startWeb() throws Exception {
        webLog = dir.resolve("web-requests.log");
        web = PolicyServer.start(dir, dir.resolve("web"), WEB, 443, dir.resolve("web.pem"), dir.resolve("web.key"), webLog);
    }

    private static String config() {
        return "dns:\n  servers: [\"127.0.0.1:" + dnsAddress.getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 2s\n  command-timeout: 5s\n"
                + "  retry: {first: 1s, max: 2s, give-up: 1h}\n  host-retry: {first: 1s, max: 2s}\n  scan-interval: 200ms\n"
                + "  tls:\n    ca-file: " + ca + "\n";
    }

    /** The GETs the policy server logged for {@code host}: each line's wall-clock time in ns. */
    private static List<Long> gets(String host) throws IOException {
        if (!Files.exists(webLog)) {
            return List.of();
        }
        return Files.readAllLines(webLog).stream().filter(l -> l.contains(" GET " + host + " "))
                .map(l -> Long.parseLong(l.substring(0, l.indexOf(' ')))).toList();
    }

    private static Optional<Path> dumpWith(String sink, String marker) throws IOException {
        Path d = dir.resolve("dumps-" + sink);
        if (!Files.isDirectory(d)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(d)) {
            for (Path p : s.toList()) {
                if (Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1).contains(marker)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    private static Path awaitAt(String sink, String marker) throws IOException {
        assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100), () -> dumpWith(sink, marker).isPresent()))
                .as("the message reaches the sink behind " + sink).isTrue();
        return dumpWith(sink, marker).orElseThrow();
    }

    private static String send(TestMx mx, String to) {
        return MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", to);
    }

    @Test
    @Order(1)
    void enforceWithAValidCertificateDeliversOverTls() throws Exception {
        try (TestMx mx = TestMx.start(config())) {
            String marker = send(mx, "user@enf.sts.test");
            Path dump = awaitAt(S1, marker);
            assertThat(Files.readString(dump, java.nio.charset.StandardCharsets.ISO_8859_1)).as("Postfix's Received: says TLS")
                    .contains("(using TLS");
            assertThat(gets("mta-sts.enf.sts.test")).hasSize(1);
        }
    }

    @Test
    @Order(2)
    void enforceSkipsAnMxHostOutsideThePolicyAndTheFetchComesFirst() throws Exception {
        try (TestMx mx = TestMx.start(config())) {
            String marker = send(mx, "user@skip.sts.test");
            Path dump = awaitAt(S1, marker);
            assertThat(dumpWith(S2, marker)).as("mx2.sts.test (preference 10) is not in the policy").isEmpty();
            List<Long> gets = gets("mta-sts.skip.sts.test");
            assertThat(gets).hasSize(1);
            // RFC 8461 §3.3: with no cached policy the fetch comes before the first delivery, not after it
            java.time.Instant arrived = Files.getLastModifiedTime(dump).toInstant();
            assertThat(gets.get(0)).isLessThan(arrived.getEpochSecond() * 1_000_000_000L + arrived.getNano());
            assertThat(mx.mx().spool().ids(QueueState.DEFERRED)).isEmpty();
        }
    }

    @Test
    @Order(3)
    void enforceWithACertificateForAnotherNameDefersWith475() throws Exception {
        try (TestMx mx = TestMx.start(config())) {
            String marker = send(mx, "user@bad.sts.test");
            assertThat(Await.within(Duration.ofSeconds(20), () -> !mx.mx().spool().ids(QueueState.DEFERRED).isEmpty())).isTrue();
            String id = mx.mx().spool().ids(QueueState.DEFERRED).get(0);
            Envelope e = mx.mx().spool().envelope(QueueState.DEFERRED, id);
            assertThat(e.recipients().get(0).state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(e.recipients().get(0).status()).hasValueSatisfying(st -> assertThat(st.toString()).isEqualTo("4.7.5"));
            assertThat(e.recipients().get(0).detail()).contains("wrong.sts.test");
            assertThat(dumpWith(S1, marker)).as("never delivered to a host that failed authentication").isEmpty();
            assertThat(mx.delivered("alice")).as("no bounce").isEmpty();
        }
    }

    @Test
    @Order(3)
    void testingDeliversDespiteABadCertificate() throws Exception {
        try (TestMx mx = TestMx.start(config())) {
            String marker = send(mx, "user@tst.sts.test");
            awaitAt(S1, marker);
            assertThat(gets("mta-sts.tst.sts.test")).hasSize(1);
        }
    }

    /** {@code mxd lookup}/{@code mxd check} with {@code args}: exit status and standard output. */
    private static Map.Entry<Integer, String> cli(String... args) {
        picocli.CommandLine cl = dev.mxd.cli.Main.commandLine();
        java.io.StringWriter out = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
        int exit = cl.execute(args);
        return Map.entry(exit, out.toString());
    }

    @Test
    @Order(4)
    void lookupAndCheckShowThePolicyFetchedWithTheCaFile() throws Exception {
        String server = "127.0.0.1:" + dnsAddress.getPort();
        Map.Entry<Integer, String> r = cli("lookup", "skip.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString(), "--json");
        assertThat(r.getKey()).isZero();
        JsonNode sts = new ObjectMapper().readTree(r.getValue()).get("mta_sts");
        assertThat(sts.get("mode").asText()).isEqualTo("enforce");
        assertThat(sts.get("mx")).hasSize(1);
        assertThat(sts.get("mx").get(0).asText()).isEqualTo("mx1.sts.test");
        assertThat(sts.get("max_age").asLong()).isEqualTo(86400);
        // what delivery does under enforce (RFC 8461 §4.1): mx2 is passed over, mx1 used
        JsonNode hosts = new ObjectMapper().readTree(r.getValue()).get("hosts");
        assertThat(hosts).extracting(h -> h.get("name").asText() + " " + h.get("mta_sts_match").asBoolean())
                .containsExactly("mx2.sts.test false", "mx1.sts.test true");
        Map.Entry<Integer, String> skipText = cli("lookup", "skip.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString());
        assertThat(skipText.getKey()).isZero();
        assertThat(skipText.getValue()).contains("not used: mx2.sts.test is not among the MTA-STS policy's mx (mode enforce)")
                .doesNotContain("not used: mx1.sts.test");
        // an enforced policy that matches no MX host: delivery defers every attempt (4.7.5), so the lookup says 75, not 0
        Map.Entry<Integer, String> none = cli("lookup", "none.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString());
        assertThat(none.getKey()).as(none.getValue()).isEqualTo(75);
        assertThat(none.getValue()).contains("MTA-STS enforce leaves no MX host: delivery defers (4.7.5)");

        // without the private CA the policy host's certificate is not trusted: no policy
        Map.Entry<Integer, String> untrusted = cli("lookup", "skip.sts.test", "--dns", server, "--dnssec", "off", "--json");
        assertThat(new ObjectMapper().readTree(untrusted.getValue()).get("mta_sts").isNull()).isTrue();

        Map.Entry<Integer, String> text = cli("lookup", "tst.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString());
        assertThat(text.getValue()).contains("MTA-STS: mode testing, mx *.sts.test, max_age 86400");
        // a policy's text is the server's: its control characters are shown escaped, not sent to the terminal
        Map.Entry<Integer, String> hostile = cli("lookup", "esc.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString());
        assertThat(hostile.getValue()).contains("MTA-STS: none").contains("\\u001B]0;owned\\u0007").doesNotContain("\u001b")
                .doesNotContain("\u0007");

        Map.Entry<Integer, String> check = cli("check", "skip.sts.test", "--dns", server, "--dnssec", "off", "--ca-file", ca.toString(),
                "--port", String.valueOf(port), "--timeout", "5s", "--json");
        JsonNode report = new ObjectMapper().readTree(check.getValue());
        assertThat(report.get("mta_sts").get("mode").asText()).isEqualTo("enforce");
        assertThat(report.get("findings").toString()).contains("mx2.sts.test").contains("not among the MTA-STS policy's mx");
        assertThat(check.getKey()).as("an enforced policy that leaves out an MX host is an error").isEqualTo(1);
    }

    @Test
    @Order(5)
    void theCachedPolicyHoldsUntilTheIdChangesAndOutlivesTheServerAndARestart() throws Exception {
        Path data = Files.createTempDirectory("mxd-mta-sts-node");
        try {
            try (TestMx mx = TestMx.startIn(data, config())) {
                awaitAt(S1, send(mx, "user@cch.sts.test")); // policy id 1: mx1 only
                policy("cch.sts.test", "enforce", "mx2.sts.test");
                awaitAt(S1, send(mx, "user@cch.sts.test")); // same id: the cached policy, no fetch
                assertThat(gets("mta-sts.cch.sts.test")).hasSize(1);

                serveZone("2");
                String marker = send(mx, "user@cch.sts.test"); // a new id: fetched again, now mx2 only
                awaitAt(S2, marker);
                assertThat(dumpWith(S1, marker)).isEmpty();
                assertThat(gets("mta-sts.cch.sts.test")).hasSize(2);
            }
            web.close();
            serveZone("3");
            try (TestMx mx = TestMx.startIn(data, config())) {
                // the policy server is down and the id changed: the refresh fails, the cached policy (mx2 only) stays
                String marker = send(mx, "user@cch.sts.test");
                awaitAt(S2, marker);
                assertThat(dumpWith(S1, marker)).isEmpty();
            }
        } finally {
            TestDirs.deleteTree(data);
        }
    }
}
