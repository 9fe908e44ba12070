package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.testing.Certificates;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MTA-STS check of an MX host's certificate, with certificates openssl makes (a private CA, a stranger, an expired one). */
class WebPkiTest {

    @TempDir
    static Path dir;
    static WebPki pki;

    @BeforeAll
    static void certificates() throws Exception {
        Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"));
        Certificates.issuedBy(dir.resolve("ca.pem"), dir.resolve("ca.key"), dir.resolve("mx.pem"), dir.resolve("mx.key"),
                "mx1.a.test", "*.b.test");
        Certificates.selfSigned(dir.resolve("self.pem"), dir.resolve("self.key"));
        Certificates.expired(dir.resolve("old.pem"), dir.resolve("old.key"));
        pki = WebPki.of(Optional.of(dir.resolve("ca.pem")));
    }

    private static List<X509Certificate> chain(String file) throws Exception {
        try (InputStream in = Files.newInputStream(dir.resolve(file))) {
            return List.of((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
    }

    @Test
    void aChainFromTheCaNamingTheHostIsAccepted() throws Exception {
        ServerAuthentication auth = pki.mxAuthentication();
        assertThat(auth.method()).isEqualTo("MTA-STS");
        assertThat(auth.verify(chain("mx.pem"), "mx1.a.test")).contains("mx1.a.test");
        assertThat(auth.verify(chain("mx.pem"), "MX9.B.TEST.")).contains("*.b.test");
    }

    @Test
    void failuresCarryTheRfc8460ResultType() throws Exception {
        ServerAuthentication auth = pki.mxAuthentication();
        assertThatThrownBy(() -> auth.verify(chain("mx.pem"), "mx2.a.test")).isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                r -> assertThat(r.resultType()).isEqualTo("certificate-host-mismatch"));
        assertThatThrownBy(() -> auth.verify(chain("mx.pem"), "a.b.b.test")).isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                r -> assertThat(r.resultType()).isEqualTo("certificate-host-mismatch"));
        assertThatThrownBy(() -> auth.verify(chain("self.pem"), "mx1.example.test")).isInstanceOfSatisfying(
                ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("certificate-not-trusted"));
        assertThatThrownBy(() -> auth.verify(chain("old.pem"), "mx1.example.test")).isInstanceOfSatisfying(
                ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("certificate-expired"));
        assertThatThrownBy(() -> auth.verify(List.of(), "mx1.a.test")).isInstanceOf(ServerAuthentication.Rejected.class);
    }

    @Test
    void theJdkTrustStoreDoesNotKnowThePrivateCa() throws Exception {
        assertThatThrownBy(() -> WebPki.of(Optional.empty()).mxAuthentication().verify(chain("mx.pem"), "mx1.a.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("certificate-not-trusted"));
    }

    @Test
    void wildcardsCoverTheLeftmostLabelOnly() {
        assertThat(WebPki.nameMatches("*.example.net", "mx.example.net")).isTrue();
        assertThat(WebPki.nameMatches("*.example.net", "example.net")).isFalse();
        assertThat(WebPki.nameMatches("*.example.net", "a.mx.example.net")).isFalse();
        assertThat(WebPki.nameMatches("MX.example.net.", "mx.EXAMPLE.net")).isTrue();
    }
}
