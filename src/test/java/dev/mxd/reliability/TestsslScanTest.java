package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * testssl.sh (the Debian package testssl.sh) scans mxd's STARTTLS as an outside prober would
 * (issue 16): protocols (-p), cipher categories (-s), forward secrecy (-f) and every
 * vulnerability check (-U, which includes secure and client-initiated renegotiation). Every
 * finding must be OK or INFO: no weak suite (CBC, static RSA), no vulnerability, and no WARN
 * (a check testssl could not run would hide a problem).
 *
 * <p>Nothing is ignored: the certificate checks (-S: chain of trust, hostname, revocation, which
 * a self-signed test certificate fails by design) are not run; ServerCertificateTest covers what
 * mxd itself checks in a certificate. Offline: no DNS ({@code --nodns none}), no CRL or OCSP
 * fetch (no {@code --phone-out}). About 80 s on two cores.
 */
@PeerTest
class TestsslScanTest {

    @Test
    void testsslFindsNoWeakSuiteAndNoVulnerability() throws Exception {
        Path dir = Files.createTempDirectory("mxd-testssl");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Certificates.selfSigned(cert, key);
        Path json = dir.resolve("testssl.json");
        try (TestMx mx = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n")) {
            Process p = new ProcessBuilder("testssl", "--quiet", "--color", "0", "--nodns", "none", "--sneaky",
                    "--warnings", "off", "--connect-timeout", "10", "--openssl-timeout", "10",
                    "--starttls", "smtp", "-p", "-s", "-f", "-U", "--jsonfile", json.toString(),
                    "127.0.0.1:" + mx.smtp().getPort())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("testssl.txt").toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("testssl did not finish within 5 minutes: " + Files.readString(dir.resolve("testssl.txt")));
            }
            String report = Files.readString(dir.resolve("testssl.txt"), StandardCharsets.UTF_8);
            System.out.println(report);
            Map<String, JsonNode> findings = new LinkedHashMap<>();
            for (JsonNode f : new ObjectMapper().readTree(json.toFile())) {
                findings.put(f.path("id").asText(), f);
            }
            // the scan really ran: the checks this test is about are there
            assertThat(findings).as(report).containsKeys("TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cipherlist_AVERAGE",
                    "cipherlist_3DES_IDEA", "cipherlist_STRONG", "secure_renego", "secure_client_renego", "LUCKY13",
                    "ROBOT", "SWEET32", "heartbleed", "PFS");
            List<String> bad = new ArrayList<>();
            findings.forEach((id, f) -> {
                String severity = f.path("severity").asText();
                if (id.equals("engine_problem")) {
                    return; // about testssl's own openssl (no GOST engine in Debian's OpenSSL 3), not the server
                }
                if (!severity.equals("OK") && !severity.equals("INFO")) {
                    bad.add(id + " " + severity + ": " + f.path("finding").asText());
                }
            });
            assertThat(bad).as(report).isEmpty();
            assertThat(findings.get("secure_client_renego").path("finding").asText()).isEqualTo("not vulnerable");
            assertThat(findings.get("cipherlist_AVERAGE").path("finding").asText()).isEqualTo("not offered");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }
}
