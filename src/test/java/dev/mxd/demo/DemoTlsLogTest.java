package dev.mxd.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsResults;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The words of the {@code mxd demo --secure} timeline for each TLS outcome a node's delivery
 * reports: DANE-authenticated sessions (what the demo shows once DANE decides the hosts' TLS),
 * opportunistic ones (what it shows while nothing asks for the TLSA records), and failures.
 */
class DemoTlsLogTest {

    private static final HostTls.ReportedPolicy TLSA = new HostTls.ReportedPolicy("tlsa", List.of("3 1 1 00ff"), List.of());
    private static final ServerAuthentication DANE = new ServerAuthentication() {
        @Override
        public String method() {
            return "DANE";
        }

        @Override
        public String verify(List<java.security.cert.X509Certificate> chain, String host) {
            return "DANE-EE(3) SPKI SHA2-256";
        }
    };

    @Test
    void saysPerHostHowItsSessionsWereAuthenticatedAndCountsThem() throws Exception {
        DemoTlsLog log = new DemoTlsLog();
        InetAddress mx1 = InetAddress.getByName("127.0.0.11");
        InetAddress mx2 = InetAddress.getByName("127.0.0.12");
        TlsResults.Session dane = new TlsResults.Session(Optional.of("TLSv1.3"), Optional.of("DANE-EE(3) SPKI SHA2-256"));
        for (int i = 0; i < 3; i++) {
            log.opened("example.test", "mx1.example.test", mx1, new HostTls.Authenticated(DANE, TLSA), Optional.empty(), dane);
        }
        log.opened("example.test", "mx2.example.test", mx2, new HostTls.Opportunistic(), Optional.empty(),
                new TlsResults.Session(Optional.of("TLSv1.2"), Optional.empty()));
        log.record("example.test", "mx2.example.test", mx2, new HostTls.Authenticated(DANE, TLSA),
                Optional.of(new TlsResults.Failure("validation-failure", "no TLSA record matches the certificate")));

        assertThat(log.lines(List.of("mx1.example.test", "mx2.example.test", "mx3.example.test"))).containsExactly(
                "mx1.example.test: DANE-EE authenticated (TLS 1.3), matched by DANE-EE(3) SPKI SHA2-256, 3 sessions",
                "mx2.example.test: opportunistic TLS, not authenticated (TLS 1.2), 1 session",
                "mx2.example.test: TLS FAILED under DANE: validation-failure (no TLSA record matches the certificate), 1 session",
                "mx3.example.test: no delivery session was opened to it");
    }

    @Test
    void namesEncryptedOnlyAndRuledOutHosts() {
        assertThat(DemoTlsLog.describe(new HostTls.Encrypted(TLSA), Optional.empty(),
                Optional.of(new TlsResults.Session(Optional.of("TLSv1.3"), Optional.empty()))))
                .isEqualTo("TLS required by DANE, not authenticated: no usable TLSA record (TLS 1.3)");
        assertThat(DemoTlsLog.describe(new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "TLSA lookup failed",
                "tlsa-invalid", TLSA), Optional.empty(), Optional.empty()))
                .isEqualTo("not used: TLSA lookup failed (tlsa-invalid)");
    }
}
