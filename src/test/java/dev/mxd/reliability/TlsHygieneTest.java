package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.testing.Certificates;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TLS hygiene of STARTTLS (issue 6 point 6), checked from outside with {@code openssl s_client
 * -starttls smtp}: TLS 1.2 and 1.3 are spoken, TLS 1.0 and 1.1 are not, and no weak cipher (RC4,
 * DES, 3DES, NULL, anonymous, export) is accepted. The client side is opened up with
 * {@code @SECLEVEL=0} so that a refusal is the server's, not OpenSSL's own default policy.
 * TLS 1.2 offers only ECDHE with AEAD suites, and client-initiated renegotiation is refused
 * (issue 16); TestsslScanTest runs testssl.sh over the whole.
 * (STARTTLS injection and downgrade: SmugglingTest.plaintextPipelinedAfterStartTlsIsDiscarded,
 * and EHLO after TLS no longer offering STARTTLS.)
 */
@PeerTest
class TlsHygieneTest {

    private static final Pattern CIPHER = Pattern.compile("Cipher is (\\S+)");
    private static final Pattern PROTOCOL = Pattern.compile("New, (\\S+), Cipher is");
    /** Why a handshake did not happen: an alert from the server, or the client found nothing to offer. */
    private static final Pattern WHY = Pattern.compile("(alert [a-z ]+|no cipher match|no protocols available|wrong version number|unsupported protocol)");

    private static Path dir;
    private static TestMx mx;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-tls");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Certificates.selfSigned(cert, key);
        mx = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n");
    }

    @AfterAll
    static void stop() {
        mx.close();
        dev.mxd.testing.TestDirs.deleteTree(dir);
    }

    @ParameterizedTest(name = "openssl s_client {0} -cipher {1} → {2}")
    @CsvSource(delimiter = '|', value = {
        "-tls1_3 | DEFAULT                       | TLSv1.3",
        "-tls1_2 | DEFAULT                       | TLSv1.2",
        "-tls1_1 | DEFAULT:@SECLEVEL=0           | refused",
        "-tls1   | DEFAULT:@SECLEVEL=0           | refused",
        "-tls1_2 | RC4:@SECLEVEL=0               | refused",
        "-tls1_2 | aNULL:@SECLEVEL=0             | refused",
        "-tls1_2 | eNULL:@SECLEVEL=0             | refused",
        "-tls1_2 | DES:3DES:@SECLEVEL=0          | refused",
        "-tls1_2 | EXPORT:LOW:@SECLEVEL=0        | refused",
        "-tls1_2 | MD5:@SECLEVEL=0               | refused",
        // TLS 1.2: only ECDHE with AEAD (issue 16): no CBC, no static RSA key exchange, no finite-field DHE
        "-tls1_2 | ECDHE-RSA-CHACHA20-POLY1305   | TLSv1.2",
        "-tls1_2 | ECDHE-RSA-AES256-GCM-SHA384   | TLSv1.2",
        "-tls1_2 | ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384 | refused",
        "-tls1_2 | AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA | refused",
        "-tls1_2 | DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305 | refused",
    })
    void onlyModernProtocolsAndCiphers(String protocol, String cipher, String expected) throws Exception {
        String out = sClient(protocol, cipher);
        Matcher c = CIPHER.matcher(out);
        String negotiated = c.find() ? c.group(1) : "(NONE)";
        Matcher p = PROTOCOL.matcher(out);
        String version = p.find() ? p.group(1) : "";
        Matcher why = WHY.matcher(out);
        System.out.printf("openssl s_client -starttls smtp %s -cipher '%s': %s%n", protocol, cipher,
                negotiated.equals("(NONE)") ? "refused (" + (why.find() ? why.group(1) : "no handshake") + ")" : version + " " + negotiated);
        if (expected.equals("refused")) {
            assertThat(negotiated).as(out).isEqualTo("(NONE)");
        } else {
            assertThat(negotiated).as(out).isNotEqualTo("(NONE)");
            assertThat(out).contains(expected);
        }
    }

    /**
     * TLS 1.2 client-initiated renegotiation (openssl's R command) is refused with a fatal alert
     * and the connection ends: each one cost the server a full handshake (300 took 2.2 CPU s).
     */
    @Test
    void tls12RenegotiationIsRefused() throws Exception {
        try (Session s = Session.open(mx.smtp().getPort(), "-tls1_2")) {
            assertThat(s.command("NOOP")).as("the session works before").isTrue();
            s.send("R");
            s.awaitEnd();
            System.out.println("openssl s_client -tls1_2, R: " + s.output().lines()
                    .filter(l -> l.contains("RENEGOTIATING") || l.contains("alert")).toList());
            assertThat(s.output()).contains("RENEGOTIATING").contains("alert handshake failure");
        }
    }

    /** TLS 1.3 has no renegotiation; its key update (openssl's k command) still works, and so does the session. */
    @Test
    void tls13SessionAndKeyUpdateWork() throws Exception {
        try (Session s = Session.open(mx.smtp().getPort(), "-tls1_3")) {
            assertThat(s.command("NOOP")).isTrue();
            s.send("k");
            await().atMost(Duration.ofSeconds(10)).until(() -> s.output().contains("KEYUPDATE"));
            assertThat(s.command("NOOP")).as("the session works after a key update").isTrue();
        }
    }

    /** An interactive {@code openssl s_client -starttls smtp -crlf}, driven line by line. */
    private static final class Session implements AutoCloseable {
        private static final Pattern HANDSHAKE_DONE = Pattern.compile("Verify return code.*\n(.*\n)*?---\n");
        private final Process process;
        private final StringBuffer out = new StringBuffer();

        private Session(Process process) {
            this.process = process;
            Thread pump = new Thread(() -> {
                try (var in = process.getInputStream()) {
                    byte[] buf = new byte[4096];
                    for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                        out.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    }
                } catch (IOException e) {
                    // the process ended
                }
            }, "s_client-output");
            pump.setDaemon(true);
            pump.start();
        }

        static Session open(int port, String protocol) throws IOException {
            Session s = new Session(new ProcessBuilder("openssl", "s_client", "-starttls", "smtp", "-crlf",
                    "-connect", "127.0.0.1:" + port, protocol).redirectErrorStream(true).start());
            // s_client prints the session, ending "---", once the handshake is done
            await().atMost(Duration.ofSeconds(30)).until(() -> HANDSHAKE_DONE.matcher(s.output()).find() || !s.process.isAlive());
            assertThat(s.output()).as("TLS handshake").contains("Cipher is");
            return s;
        }

        String output() {
            return out.toString();
        }

        void send(String line) throws IOException {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            process.getOutputStream().flush();
        }

        /** Sends a command and reports whether its 250 2.0.0 reply came back within 10 s. */
        boolean command(String line) throws IOException {
            int before = output().length();
            send(line);
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> output().substring(before).contains("250 2.0.0"));
                return true;
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                return false;
            }
        }

        void awaitEnd() throws InterruptedException {
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("s_client ended (the server closed):\n" + output()).isTrue();
        }

        @Override
        public void close() {
            process.destroy();
        }
    }

    private static String sClient(String protocol, String cipher) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-starttls", "smtp",
                "-connect", "127.0.0.1:" + mx.smtp().getPort(), protocol));
        // TLS 1.3 suites are set apart from -cipher; a -cipher list alone leaves them on for -tls1_3 only.
        cmd.addAll(List.of("-cipher", cipher));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return out;
    }
}
