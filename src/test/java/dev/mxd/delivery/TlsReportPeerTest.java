package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.Daemon;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TLS-RPT end to end (RFC 8460): mxd delivers to a real Postfix smtpd with STARTTLS (tls.rpt.test) and to a
 * real smtp-sink without it (plain.rpt.test), under opportunistic TLS ("no-policy-found"); it is killed
 * (SIGKILL) and restarted between the sessions; the zone (mxd's own DNS server) publishes {@code _smtp._tls} records whose rua are
 * a mailbox of mxd's local domain (mailto:) and a real HTTPS server (Python's http.server with ssl) that
 * keeps each POST. The reports sent on demand carry the counts of both runs.
 */
@PeerTest
class TlsReportPeerTest {

    private static final String HTTPS_SERVER = """
            import http.server, os, ssl, sys
            port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            class Keep(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                    n = len([f for f in os.listdir(out) if f.endswith('.body')])
                    with open(os.path.join(out, '%d.type' % n), 'w') as f:
                        f.write(self.headers.get('Content-Type', ''))
                    with open(os.path.join(out, '%d.tmp' % n), 'wb') as f:
                        f.write(body)
                    os.rename(os.path.join(out, '%d.tmp' % n), os.path.join(out, '%d.body' % n))
                    self.send_response(201)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
            server = http.server.HTTPServer(('127.0.0.1', port), Keep)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """;

    private Path dir;
    private MxdDnsServer dns;
    private PostfixServer postfix;
    private SmtpSink sink;
    private Daemon https;
    private Path posts;
    private Path sinkDumps;
    private int port;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mxd-tlsrpt");
        port = FreePort.tcpOn("127.0.0.71", "127.0.0.72");
        int httpsPort = FreePort.tcpOn("127.0.0.1");
        Certificates.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.resolve("https.key").toString(),
                "-out", dir.resolve("https.pem").toString(), "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1");
        posts = Files.createDirectories(dir.resolve("posts"));
        Files.writeString(dir.resolve("https.py"), HTTPS_SERVER);
        https = Daemon.start("https", List.of("python3", dir.resolve("https.py").toString(), String.valueOf(httpsPort),
                dir.resolve("https.pem").toString(), dir.resolve("https.key").toString(), posts.toString()), dir, dir.resolve("https.log"));
        assertThat(Await.within(Duration.ofSeconds(20), () -> listening(httpsPort))).as("the HTTPS server listens").isTrue();

        String rua = "\"v=TLSRPTv1; rua=mailto:alice@example.test,https://127.0.0.1:" + httpsPort + "/tlsrpt\"";
        Path zones = Files.createDirectories(dir.resolve("zones"));
        dns = MxdDnsServer.start(Map.of("rpt.test", TestDirs.zone(zones, "rpt.test",
                "tls IN MX 10 mx-tls", "mx-tls IN A 127.0.0.71", "_smtp._tls.tls IN TXT " + rua,
                "plain IN MX 10 mx-plain", "mx-plain IN A 127.0.0.72", "_smtp._tls.plain IN TXT " + rua)));

        // The STARTTLS host relays nowhere reachable: what it accepted stays in its queue, which is all this test needs.
        postfix = PostfixServer.start("127.0.0.71:" + port, "tls.rpt.test", "[127.0.0.73]:" + port);
        sinkDumps = TestDirs.forSmtpSink("mxd-tlsrpt-sink");
        sink = SmtpSink.start("127.0.0.72", port, "-d", sinkDumps + "/%M.");
    }

    @AfterEach
    void stop() throws Exception {
        if (sink != null) {
            sink.close();
        }
        if (postfix != null) {
            postfix.close();
        }
        if (https != null) {
            https.stop(Duration.ofSeconds(10));
        }
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(sinkDumps);
        TestDirs.deleteTree(dir);
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private TestMx mxd() throws Exception {
        Files.createDirectories(dir.resolve("mxd"));
        return TestMx.startWithAdmin(dir.resolve("mxd"), "", settings());
    }

    private String settings() {
        return "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n  dnssec: off\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 2s\n  command-timeout: 5s\n"
                + "  retry: {first: 1s, max: 2s, give-up: 1h}\n  scan-interval: 200ms\n"
                + "  tls:\n    reports: on\n    ca-file: \"" + dir.resolve("https.pem") + "\"\n";
    }

    /** Submits mail to each address and waits until mxd's queue is empty again (each was delivered). */
    private static void deliver(TestMx mx, String... to) throws Exception {
        for (String address : to) {
            MxDeliveryPeerTest.submit(mx.smtp(), "sender@example.test", address);
        }
        assertThat(Await.within(Duration.ofSeconds(30), () -> Stream.of(QueueState.values()).allMatch(s -> {
            try {
                return mx.mx().spool().count(s) == 0;
            } catch (IOException e) {
                return false;
            }
        }))).as("everything delivered").isTrue();
    }

    private static JsonNode gunzipJson(byte[] gz) throws IOException {
        return new ObjectMapper().readTree(new GZIPInputStream(new ByteArrayInputStream(gz)));
    }

    /** The report in a report mail: its attachment, base64 of gzipped JSON. */
    private static JsonNode attached(String text) throws IOException {
        String lf = MaildirText.lf(text);
        int part = lf.indexOf("Content-Type: application/tlsrpt+gzip");
        assertThat(part).as("an application/tlsrpt+gzip part in %s", lf).isPositive();
        int start = lf.indexOf("\n\n", part) + 2;
        int end = lf.indexOf("\n--", start);
        return gunzipJson(Base64.getMimeDecoder().decode(lf.substring(start, end)));
    }

    private static void checkReports(Map<String, JsonNode> byDomain) {
        assertThat(byDomain.keySet()).containsExactlyInAnyOrder("tls.rpt.test", "plain.rpt.test");
        JsonNode tls = byDomain.get("tls.rpt.test");
        assertThat(tls.path("organization-name").asText()).isEqualTo("mx1.example.test");
        assertThat(tls.path("report-id").asText()).isNotEmpty();
        assertThat(tls.path("date-range").path("start-datetime").asText()).endsWith("T00:00:00Z");
        assertThat(tls.path("policies")).hasSize(1);
        JsonNode tlsPolicy = tls.path("policies").get(0);
        assertThat(tlsPolicy.path("policy").path("policy-type").asText()).isEqualTo("no-policy-found");
        assertThat(tlsPolicy.path("policy").path("policy-domain").asText()).isEqualTo("tls.rpt.test");
        assertThat(tlsPolicy.path("summary").path("total-successful-session-count").asLong())
                .as("one session before the crash, one after").isEqualTo(2);
        assertThat(tlsPolicy.path("summary").path("total-failure-session-count").asLong()).isZero();

        JsonNode plain = byDomain.get("plain.rpt.test").path("policies").get(0);
        assertThat(plain.path("policy").path("policy-type").asText()).isEqualTo("no-policy-found");
        assertThat(plain.path("summary").path("total-successful-session-count").asLong()).isZero();
        assertThat(plain.path("summary").path("total-failure-session-count").asLong()).isEqualTo(2);
        JsonNode detail = plain.path("failure-details").get(0);
        assertThat(detail.path("result-type").asText()).isEqualTo("starttls-not-supported");
        assertThat(detail.path("receiving-mx-hostname").asText()).isEqualTo("mx-plain.rpt.test");
        assertThat(detail.path("receiving-ip").asText()).isEqualTo("127.0.0.72");
        assertThat(detail.path("failed-session-count").asLong()).isEqualTo(2);
    }

    @Test
    void countsSurviveACrashAndTheReportsReachTheMailboxAndTheHttpsServer() throws Exception {
        // The first run is a separate mxd serve, killed with SIGKILL once its mail is delivered: its counts are
        // on disk within a second of each session. One session per host and run (mail that follows within the
        // connection cache's time would share one).
        Path data = dir.resolve("mxd/data");
        Path counts = data.resolve("tls-reports/counts.json");
        int smtp = FreePort.tcpAndUdp("127.0.0.1");
        Files.createDirectories(dir.resolve("mxd"));
        Files.writeString(dir.resolve("serve.yaml"), TestMx.yaml(data, smtp, 0, "", settings() + "timeouts:\n  greet-pause: 0s\n"));
        try (MxdProcess serve = MxdProcess.serve(dir.resolve("serve.yaml"), dir.resolve("serve.log"))) {
            MxDeliveryPeerTest.submit(new InetSocketAddress("127.0.0.1", smtp), "sender@example.test", "a@tls.rpt.test");
            MxDeliveryPeerTest.submit(new InetSocketAddress("127.0.0.1", smtp), "sender@example.test", "c@plain.rpt.test");
            assertThat(Await.within(Duration.ofSeconds(30), () -> {
                try (Stream<Path> left = Files.list(data.resolve("spool/data"))) {
                    return left.allMatch(dev.mxd.queue.Spool::isSpare) && Files.exists(counts) // delivered: only spares left
                            && Files.readString(counts).contains("\"domain\":\"tls.rpt.test\"")
                            && Files.readString(counts).contains("\"domain\":\"plain.rpt.test\"");
                }
            })).as("delivered and counted on disk").isTrue();
            serve.kill9();
        }
        assertThat(postfix.log()).as("the session to tls.rpt.test used TLS").contains("starttls=1");

        try (TestMx mx = mxd()) {
            // Delivered one by one: the queue is empty in between.
            deliver(mx, "d@tls.rpt.test");
            deliver(mx, "e@plain.rpt.test");

            AdminHttp.Answer sent = new AdminHttp(mx).send("POST", "/api/tls-reports/send");
            assertThat(sent.status()).as(sent.body()).isEqualTo(200);
            assertThat(sent.json().path("reports").asInt()).isEqualTo(2);

            // mailto: the report mail mxd spooled itself, delivered to alice's Maildir.
            List<Path> mails = mx.awaitDelivered("alice", 2, Duration.ofSeconds(30));
            assertThat(mails).hasSize(2);
            Map<String, JsonNode> mailed = new HashMap<>();
            for (Path mail : mails) {
                String text = MaildirText.read(mail);
                assertThat(text).contains("report-type=\"tlsrpt\"", "TLS-Report-Submitter: mx1.example.test", "From: noreply-tlsrpt@");
                JsonNode report = attached(text);
                String domain = report.path("policies").get(0).path("policy").path("policy-domain").asText();
                assertThat(text).contains("Subject: Report Domain: " + domain + " Submitter: mx1.example.test Report-ID: <"
                        + report.path("report-id").asText() + ">", "TLS-Report-Domain: " + domain);
                mailed.put(domain, report);
            }
            checkReports(mailed);

            // https: each POST, kept by the server.
            assertThat(Await.within(Duration.ofSeconds(30), () -> bodies().size() == 2)).as("two POSTs").isTrue();
            Map<String, JsonNode> posted = new HashMap<>();
            for (Path body : bodies()) {
                String type = Files.readString(body.resolveSibling(body.getFileName().toString().replace(".body", ".type")));
                assertThat(type).isEqualTo("application/tlsrpt+gzip");
                JsonNode report = gunzipJson(Files.readAllBytes(body));
                posted.put(report.path("policies").get(0).path("policy").path("policy-domain").asText(), report);
            }
            checkReports(posted);

            // Sent days are forgotten: a second trigger has nothing to send.
            assertThat(new AdminHttp(mx).send("POST", "/api/tls-reports/send").json().path("reports").asInt()).isZero();
        }
    }

    private List<Path> bodies() throws IOException {
        try (Stream<Path> s = Files.list(posts)) {
            return new ArrayList<>(s.filter(p -> p.toString().endsWith(".body")).sorted().toList());
        }
    }
}
