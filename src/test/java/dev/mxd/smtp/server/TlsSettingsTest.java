package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Tls;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.TestDirs;
import io.netty.buffer.ByteBufAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;

/**
 * STARTTLS offers TLS 1.3 and 1.2, and in TLS 1.2 only ECDHE with an AEAD cipher, whatever the
 * JVM's java.security says (TlsHygieneTest checks the same from outside with openssl, which cannot
 * itself offer RC4, DES or export suites any more: this is where those are ruled out).
 */
class TlsSettingsTest {

    @Test
    void onlyTls12And13AndOnlyForwardSecretAeadSuites() throws Exception {
        Path dir = Files.createTempDirectory("mxd-tls-settings");
        try {
            Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
            ServerCertificate.Loaded loaded = (ServerCertificate.Loaded) ServerCertificate.load(
                    new Tls(dir.resolve("cert.pem"), dir.resolve("key.pem")), Instant.now());
            SSLEngine engine = loaded.context().newEngine(ByteBufAllocator.DEFAULT);
            assertThat(engine.getEnabledProtocols()).containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
            List<String> suites = List.of(engine.getEnabledCipherSuites());
            System.out.println("STARTTLS suites: " + suites);
            assertThat(suites)
                    .allMatch(s -> s.startsWith("TLS_AES_") || s.startsWith("TLS_CHACHA20_") || s.startsWith("TLS_ECDHE_"), "TLS 1.3 or ECDHE")
                    .allMatch(s -> s.contains("_GCM_") || s.contains("CHACHA20_POLY1305"), "AEAD")
                    .contains("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    @Test
    void onlyEcdheAeadSuitesAreOfferedInBothSpellings() {
        for (String refused : List.of("TLS_RSA_WITH_RC4_128_SHA", "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DH_anon_WITH_AES_128_CBC_SHA",
                "TLS_RSA_WITH_NULL_SHA256", "SSL_RSA_EXPORT_WITH_RC4_40_MD5", "DES-CBC3-SHA", "ADH-AES128-SHA", "TLS_RSA_WITH_DES_CBC_SHA",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256")) {
            assertThat(SmtpServer.OFFERED_SUITE.matcher(refused).matches()).as(refused).isFalse();
        }
        for (String offered : List.of("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305")) {
            assertThat(SmtpServer.OFFERED_SUITE.matcher(offered).matches()).as(offered).isTrue();
        }
    }
}
