package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Certificates;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TLS hygiene of STARTTLS (issue 6 point 6), checked from outside with {@code openssl s_client
 * -starttls smtp}: TLS 1.2 and 1.3 are spoken, TLS 1.0 and 1.1 are not, and no weak cipher (RC4,
 * DES, 3DES, NULL, anonymous, export) is accepted. The client side is opened up with
 * {@code @SECLEVEL=0} so that a refusal is the server's, not OpenSSL's own default policy.
 * (STARTTLS injection and downgrade: SmugglingTest.plaintextPipelinedAfterStartTlsIsDiscarded,
 * and EHLO after TLS no longer offering STARTTLS.)
 */
@Tag("peer")
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
