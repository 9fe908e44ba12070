package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MxHost;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.client.ServerAuthentication;
import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link TlsPolicies#inOrder}: which policy's decision a host gets when DANE and MTA-STS both have one. */
class TlsPoliciesTest {

    static final HostTls.ReportedPolicy TLSA = new HostTls.ReportedPolicy("tlsa", List.of("3 1 1 00"), List.of());
    static final HostTls.ReportedPolicy STS = new HostTls.ReportedPolicy("sts", List.of("mode: enforce"), List.of("mx.a.test"));
    static final ServerAuthentication PKIX = new ServerAuthentication() {
        @Override
        public String method() {
            return "MTA-STS";
        }

        @Override
        public String verify(List<X509Certificate> chain, String host) {
            return "PKIX";
        }
    };

    private static HostTls decide(HostTls dane, HostTls sts) throws Exception {
        MxHost host = new MxHost(10, "mx.a.test", List.of(InetAddress.getByName("127.0.0.1")), List.of(), DnssecStatus.SECURE);
        TlsPolicies order = TlsPolicies.inOrder(List.of((d, r) -> h -> dane, (d, r) -> h -> sts));
        return order.forDomain(new TlsPolicies.Destination("a.test", false), null).forHost(host);
    }

    @Test
    void daneWithUsableRecordsComesFirst() throws Exception {
        HostTls dane = new HostTls.Authenticated(PKIX, TLSA);
        assertThat(decide(dane, new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "not in mx", "validation-failure", STS)))
                .isSameAs(dane);
        assertThat(decide(new HostTls.Opportunistic(), new HostTls.Authenticated(PKIX, STS))).isInstanceOf(HostTls.Authenticated.class);
    }

    @Test
    void daneWithOnlyUnusableRecordsDoesNotOverrideAnEnforcedMtaStsPolicy() throws Exception {
        // review finding 12: DANE's Encrypted (mandatory TLS, no check) used to win over MTA-STS enforce
        HostTls encrypted = new HostTls.Encrypted(TLSA);
        HostTls sts = new HostTls.Authenticated(PKIX, STS);
        assertThat(decide(encrypted, sts)).isSameAs(sts);
        HostTls unusable = new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "not in mx", "validation-failure", STS);
        assertThat(decide(encrypted, unusable)).isSameAs(unusable);
        assertThat(decide(encrypted, new HostTls.Opportunistic())).isSameAs(encrypted);
        assertThat(decide(encrypted, new HostTls.Tested(PKIX, STS))).isSameAs(encrypted);
    }
}
