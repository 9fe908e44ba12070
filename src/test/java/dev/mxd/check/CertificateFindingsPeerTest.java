package dev.mxd.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.smtp.client.ProbeSettings;
import dev.mxd.smtp.client.SmtpProbe;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code mxd check}'s probe looks at the certificate an MX presents after STARTTLS (a real mxd
 * serving certificates made with openssl and keytool) and grades it: expired and short RSA keys
 * are warnings, a name that is not the MX's a warning, a self-signed one a note; a good one
 * gives only notes (self-signed, expires soon).
 */
@PeerTest
class CertificateFindingsPeerTest {

    private final Path dir;

    CertificateFindingsPeerTest() throws Exception {
        dir = Files.createTempDirectory("mxd-check-tls");
    }

    @AfterEach
    void clean() {
        TestDirs.deleteTree(dir);
    }

    private interface Maker {
        void make(Path cert, Path key) throws Exception;
    }

    /** The findings for host {@code host} served by an mxd with the certificate {@code maker} makes. */
    private List<Finding> findings(String host, Maker maker) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Files.deleteIfExists(cert);
        Files.deleteIfExists(key);
        maker.make(cert, key);
        try (TestMx mx = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n")) {
            ProbeResult result = new SmtpProbe(ProbeSettings.defaults()).probe(mx.smtp());
            assertThat(result).isInstanceOf(ProbeResult.Reached.class);
            ProbeResult.Tls tls = ((ProbeResult.Reached) result).tls().orElseThrow();
            assertThat(tls).isInstanceOf(ProbeResult.Tls.Presented.class);
            List<Finding> out = new ArrayList<>();
            Findings.tlsFindings(host, host, tls, Instant.now(), out);
            return out;
        }
    }

    @Test
    void anExpiredCertificateIsAWarning() throws Exception {
        List<Finding> f = findings("mx1.example.test", Certificates::expired);
        assertThat(f).anySatisfy(x -> {
            assertThat(x.severity()).isEqualTo(Severity.WARNING);
            assertThat(x.message()).contains("expired on");
        });
    }

    @Test
    void aShortRsaKeyIsAWarning() throws Exception {
        List<Finding> f = findings("mx1.example.test", (c, k) -> Certificates.selfSignedRsa(c, k, 1024));
        assertThat(f).anySatisfy(x -> {
            assertThat(x.severity()).isEqualTo(Severity.WARNING);
            assertThat(x.message()).contains("1024-bit RSA key");
        });
    }

    @Test
    void aCertificateForAnotherNameIsAWarningAndAGoodOneOnlyANote() throws Exception {
        List<Finding> other = findings("mx2.example.test", Certificates::selfSigned);
        assertThat(other).anySatisfy(x -> {
            assertThat(x.severity()).isEqualTo(Severity.WARNING);
            assertThat(x.message()).contains("is for [mx1.example.test], not mx2.example.test");
        });
        List<Finding> good = findings("mx1.example.test", Certificates::selfSigned);
        // The test certificate is valid for a day: besides self-signed, a note that it expires soon.
        assertThat(good).allSatisfy(x -> assertThat(x.severity()).isEqualTo(Severity.NOTE));
        assertThat(good).extracting(Finding::message).anySatisfy(m -> assertThat(m).contains("self-signed"))
                .anySatisfy(m -> assertThat(m).contains("expires on"));
    }
}
