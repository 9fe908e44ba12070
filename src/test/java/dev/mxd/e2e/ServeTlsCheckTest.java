package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestMx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mxd serve} as a real process with a TLS certificate or key it cannot use exits 78
 * (EX_CONFIG: systemd does not restart it every 5 s as it does on 75) and names the file and
 * the reason; with a usable but expired certificate it serves, warns in its log, and /health
 * lists the warning (issue 16 point 6).
 */
@PeerTest
class ServeTlsCheckTest {

    @TempDir
    Path dir;

    private record Exit(int code, String output) {}

    private Path config(Path cert, Path key, int adminPort) throws Exception {
        String extra = "tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n"
                + "timeouts:\n  greet-pause: 0s\n"
                + "dns:\n  servers: [\"127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1") + "\"]\n";
        Path f = dir.resolve("mxd.yaml");
        Files.writeString(f, TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"), adminPort, "", extra));
        return f;
    }

    /** Runs mxd serve, which must end by itself within a minute. */
    private Exit serveExpectingExit(Path config) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path output = dir.resolve("serve.out");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main", "serve",
                "--config", config.toString()).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(output, StandardCharsets.UTF_8);
        assertThat(ended).as("mxd serve should refuse to start, but it is running:\n" + out).isTrue();
        return new Exit(p.exitValue(), out);
    }

    /** mxd serve with this certificate and key exits 78, saying {@code expected}. */
    private void assertRefusedAtStart(Path cert, Path key, String expected) throws Exception {
        Exit e = serveExpectingExit(config(cert, key, 0));
        System.out.println(e.output());
        assertThat(e.code()).isEqualTo(78);
        assertThat(e.output()).contains(expected);
    }

    @Test
    void keyOfAnotherCertificateExits78NamingTheKey() throws Exception {
        Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        Certificates.selfSigned(dir.resolve("other.pem"), dir.resolve("other.key"));
        assertRefusedAtStart(dir.resolve("cert.pem"), dir.resolve("other.key"),
                "invalid configuration: tls: " + dir.resolve("other.key") + ": is not the key of the certificate in "
                + dir.resolve("cert.pem"));
    }

    @Test
    void encryptedKeyExits78NamingTheKey() throws Exception {
        Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        Certificates.openssl("pkcs8", "-topk8", "-in", dir.resolve("key.pem").toString(), "-out", dir.resolve("key.p8").toString(),
                "-passout", "pass:secret");
        assertRefusedAtStart(dir.resolve("cert.pem"), dir.resolve("key.p8"), dir.resolve("key.p8") + ": the key is encrypted");
    }

    @Test
    void dsaKeyExits78NamingTheKey() throws Exception {
        Certificates.selfSignedDsa(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        assertRefusedAtStart(dir.resolve("cert.pem"), dir.resolve("key.pem"), dir.resolve("key.pem") + ": a DSA key signs no handshake");
    }

    @Test
    void unreadableKeyExits78NamingTheKey() throws Exception {
        Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        Path notAFile = Files.createDirectory(dir.resolve("key.d")); // readable even by root, yet no file to read
        assertRefusedAtStart(dir.resolve("cert.pem"), notAFile, notAFile + ": cannot read it");
    }

    @Test
    void expiredCertificateServesWarnsAndShowsInHealth() throws Exception {
        Certificates.expired(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        int admin = FreePort.tcpAndUdp("127.0.0.1");
        Path log = dir.resolve("serve.log");
        try (MxdProcess mx = MxdProcess.serve(config(dir.resolve("cert.pem"), dir.resolve("key.pem"), admin), log)) {
            String logged = Files.readString(log);
            assertThat(logged).contains("WARN").contains("TLS: " + dir.resolve("cert.pem") + ": the certificate (CN=mx1.example.test) expired on");
            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + admin + "/health")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            System.out.println(health.body());
            JsonNode tls = new ObjectMapper().readTree(health.body()).path("checks").path("tls");
            assertThat(health.statusCode()).as("a warning, not a failure").isEqualTo(200);
            assertThat(tls.path("ok").asBoolean()).isTrue();
            assertThat(tls.path("warnings")).singleElement().extracting(JsonNode::asText).asString().contains("expired on");
        }
    }
}
