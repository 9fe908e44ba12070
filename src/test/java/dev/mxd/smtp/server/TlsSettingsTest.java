package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Tls;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.TestDirs;
import io.netty.buffer.ByteBufAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;

/**
 * STARTTLS offers TLS 1.3 and 1.2 and no weak suite whatever the JVM's java.security says
 * (TlsHygieneTest checks the same from outside with openssl, which cannot itself offer RC4,
 * DES or export suites any more: this is where those are ruled out).
 */
class TlsSettingsTest {

    @Test
    void onlyTls12And13AndNoWeakSuites() throws Exception {
        Path dir = Files.createTempDirectory("mxd-tls-settings");
        try {
            Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
            SSLEngine engine = SmtpServer.sslContext(new Tls(dir.resolve("cert.pem"), dir.resolve("key.pem")))
                    .newEngine(ByteBufAllocator.DEFAULT);
            assertThat(engine.getEnabledProtocols()).containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
            List<String> suites = List.of(engine.getEnabledCipherSuites());
            System.out.println("STARTTLS suites: " + suites);
            assertThat(suites).isNotEmpty()
                    .noneMatch(s -> s.matches("(?i).*(RC4|_DES_|3DES|DES_EDE|NULL|_anon_|EXPORT|_MD5).*"))
                    .contains("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    @Test
    void weakSuiteNamesAreRecognisedInBothSpellings() {
        for (String weak : List.of("TLS_RSA_WITH_RC4_128_SHA", "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DH_anon_WITH_AES_128_CBC_SHA",
                "TLS_RSA_WITH_NULL_SHA256", "SSL_RSA_EXPORT_WITH_RC4_40_MD5", "DES-CBC3-SHA", "ADH-AES128-SHA", "TLS_RSA_WITH_DES_CBC_SHA")) {
            assertThat(SmtpServer.WEAK_SUITE.matcher(weak).find()).as(weak).isTrue();
        }
        for (String good : List.of("TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-AES128-GCM-SHA256")) {
            assertThat(SmtpServer.WEAK_SUITE.matcher(good).find()).as(good).isFalse();
        }
    }
}
