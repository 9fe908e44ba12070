package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 point 5, REQUIRETLS (RFC 8689) end to end: a running {@code mxd serve} with a certificate;
 * swaks reads its EHLO replies before and after STARTTLS; a client session gives MAIL FROM with
 * REQUIRETLS (swaks 20201014 has no option for MAIL parameters); the destination, example.org, has a
 * real Postfix smtpd (3.7: opportunistic TLS, no REQUIRETLS) as its MX, so the message comes back to
 * its local sender with 5.7.10. A second message, whose destination's DNS fails, stays deferred, and
 * its envelope keeps the flag across a restart.
 */
@PeerTest
class RequireTlsPeerTest {

    private Path dir;
    private MxdDnsServer dns;
    private PostfixServer postfix;
    private int smtpPort;
    private Path config;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mxd-requiretls-peer");
        int postfixPort = FreePort.tcpAndUdp("127.0.0.1");
        postfix = PostfixServer.start("127.0.0.1:" + postfixPort, "example.org", "[127.0.0.1]:" + FreePort.tcpAndUdp("127.0.0.1"));
        dns = MxdDnsServer.start(Map.of("example.org", TestDirs.zone(dir, "example.org", "@ MX 10 mx", "mx IN A 127.0.0.1")));
        smtpPort = FreePort.tcpAndUdp("127.0.0.1");
        // slow.test: a second backup domain (it continues TestMx's domains: map), whose zone nobody serves.
        String extra = "  slow.test:\n    role: backup\n"
                + Certificates.tlsSection(dir)
                + "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + postfixPort + "\n  connect-timeout: 2s\n"
                + "  retry: {first: 10m, max: 10m, give-up: 1h}\n  scan-interval: 200ms\n"
                + "timeouts:\n  greet-pause: 0s\n";
        config = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(dir.resolve("data"), smtpPort, extra));
    }

    @AfterEach
    void stop() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    /** swaks with STARTTLS up to the EHLO after it; its whole transcript. */
    private String swaksEhlo() throws Exception {
        Path out = dir.resolve("swaks.out");
        Process p = new ProcessBuilder("swaks", "--server", "127.0.0.1", "--port", String.valueOf(smtpPort), "--tls",
                "--quit-after", "HELO", "--helo", "client.test", "--to", "alice@example.test", "--timeout", "20")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("swaks did not finish within 60 s");
        }
        String transcript = Files.readString(out);
        assertThat(p.exitValue()).as(transcript).isZero();
        return transcript;
    }

    /** A REQUIRETLS message from alice@example.test to {@code to}, over STARTTLS; its queue id. */
    private String sendWithRequireTls(String to) throws Exception {
        try (RawSmtp c = new RawSmtp(new InetSocketAddress("127.0.0.1", smtpPort))) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).contains("STARTTLS");
            c.send("MAIL FROM:<alice@example.test> REQUIRETLS\r\n");
            assertThat(c.reply()).as("REQUIRETLS outside TLS").startsWith("530 5.7.10");
            c.startTls("mx1.example.test");
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).contains("REQUIRETLS");
            c.send("MAIL FROM:<alice@example.test> REQUIRETLS\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("RCPT TO:<" + to + ">\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: for your eyes only\r\n\r\nsecret\r\n.\r\n");
            String queued = c.reply();
            assertThat(queued).startsWith("250 2.0.0 OK queued as ");
            c.send("QUIT\r\n");
            return queued.substring("250 2.0.0 OK queued as ".length()).strip();
        }
    }

    /** The texts of the messages in any new/ directory under the data directory. */
    private List<String> delivered() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve("data"))) {
            return files.filter(f -> Files.isRegularFile(f) && f.getParent().getFileName().toString().equals("new"))
                    .map(f -> {
                        try {
                            return Files.readString(f, StandardCharsets.UTF_8);
                        } catch (IOException e) {
                            return "";
                        }
                    }).toList();
        }
    }

    private Path envelopeFile(String state, String id) {
        return dir.resolve("data/spool").resolve(state).resolve(id + ".json");
    }

    @Test
    void requireTlsIsOfferedOverTlsOnlyAndAnOpportunisticDestinationBouncesIt() throws Exception {
        Path log = dir.resolve("mxd.log");
        String deferredId;
        try (MxdProcess mxd = MxdProcess.serve(config, log)) {
            String transcript = swaksEhlo();
            int tls = transcript.indexOf("STARTTLS\n");
            assertThat(tls).as(transcript).isPositive();
            String before = transcript.substring(0, transcript.indexOf("-> STARTTLS"));
            String after = transcript.substring(transcript.indexOf("-> STARTTLS"));
            assertThat(before).contains("<-  250-STARTTLS").doesNotContain("REQUIRETLS");
            assertThat(after).contains("REQUIRETLS");

            String bounced = sendWithRequireTls("someone@example.org");
            boolean returned = Await.within(Duration.ofSeconds(30),
                    () -> delivered().stream().anyMatch(t -> t.contains("Status: 5.7.10")));
            List<String> mail = delivered();
            assertThat(returned).as("a notice with 5.7.10 for %s in a Maildir: %s\n%s", bounced, mail, Files.readString(log)).isTrue();
            assertThat(mail).anySatisfy(t -> assertThat(t).contains("Final-Recipient: rfc822; someone@example.org")
                    .contains("Action: failed").contains("Subject: for your eyes only"));
            assertThat(Files.readString(log)).contains("REQUIRETLS (RFC 8689 §4.2.1)");
            // mxd never connected: Postfix has no message for it (it would have taken it, opportunistically).
            assertThat(postfix.log()).doesNotContain("to=<someone@example.org>");

            deferredId = sendWithRequireTls("someone@slow.test");
            boolean deferred = Await.within(Duration.ofSeconds(30), () -> Files.exists(envelopeFile("deferred", deferredId)));
            assertThat(deferred).as(Files.readString(log)).isTrue();
            assertThat(Files.readString(envelopeFile("deferred", deferredId))).contains("\"requiretls\" : true");
            assertThat(mxd.terminate()).isZero();
        }
        try (MxdProcess again = MxdProcess.serve(config, log)) {
            Path json = envelopeFile("deferred", deferredId);
            assertThat(json).exists();
            assertThat(Files.readString(json)).contains("\"requiretls\" : true");
        }
    }
}
