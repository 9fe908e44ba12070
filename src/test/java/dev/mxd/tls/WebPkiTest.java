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

    @Test
    void aLeafNamingTheHostOnlyInItsCommonNameIsAMismatch() throws Exception {
        // RFC 8461 §4.2: the certificate MUST have a subjectAltName DNS-ID matching the host; no CN fallback (review finding 5)
        Certificates.openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.resolve("cn.key").toString(),
                "-out", dir.resolve("cn.csr").toString(), "-subj", "/CN=mx1.a.test");
        Certificates.openssl("x509", "-req", "-in", dir.resolve("cn.csr").toString(), "-CA", dir.resolve("ca.pem").toString(),
                "-CAkey", dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2", "-out", dir.resolve("cn.pem").toString());
        assertThatThrownBy(() -> pki.mxAuthentication().verify(chain("cn.pem"), "mx1.a.test")).isInstanceOfSatisfying(
                ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("certificate-host-mismatch"));
    }

    @Test
    void anExpiredCertificateSentBesideTheValidatedPathDoesNotFailIt() throws Exception {
        // servers still send expired cross-signs; only the path to the trusted CA counts (review finding 6)
        List<X509Certificate> sent = new java.util.ArrayList<>(chain("mx.pem"));
        sent.addAll(chain("ca.pem"));
        sent.addAll(chain("old.pem"));
        assertThat(pki.mxAuthentication().verify(sent, "mx1.a.test")).contains("mx1.a.test");
    }
}
