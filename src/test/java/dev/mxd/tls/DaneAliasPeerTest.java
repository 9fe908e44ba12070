package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DnssecConfig;
import dev.mxd.config.DnssecMode;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.dns.TlsaLookup;
import dev.mxd.testing.DaneZone;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.ServfailSwitch;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

/**
 * RFC 7672 §2.1 and §2.2.2 for an MX host that is a secure alias: the TLSA base domain is the expanded name the
 * MX resolution found, and a DNS failure after that resolution never moves the TLSA lookup to the alias's own
 * name (where a secure denial would make delivery opportunistic). Real Knot ({@link DaneZone}) behind a
 * {@link ServfailSwitch}.
 */
@PeerTest
class DaneAliasPeerTest {

    private static DaneZone zone;
    private static ServfailSwitch dns;

    @BeforeAll
    static void start() throws Exception {
        zone = DaneZone.start();
        dns = new ServfailSwitch(new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1")), zone.knot().address());
    }

    @AfterAll
    static void stop() throws Exception {
        if (dns != null) {
            dns.close();
        }
        if (zone != null) {
            zone.close();
        }
    }

    @Test
    void anAddressLookupFailingAfterTheMxResolutionDoesNotTurnDaneOffForAnAlias() throws Exception {
        DnsClient client = new DnsClient(new DnsSettings(List.of(dns.address()), Duration.ofMillis(300), 2, Duration.ofSeconds(3),
                8, 100, Duration.ofDays(1)).withDnssec(DnssecMode.VALIDATE, DnssecConfig.readAnchors(zone.anchor())));
        MxOutcome outcome = new MxResolver(client, MxPolicy.defaults()).resolve(MailDomain.parse("alias0.dane.test"));
        assertThat(outcome).as(outcome.toString()).isInstanceOf(MxOutcome.Routes.class);
        MxOutcome.Routes routes = (MxOutcome.Routes) outcome;
        MxHost host = routes.hosts().get(0);
        assertThat(host.dnssec()).isEqualTo(DnssecStatus.SECURE);
        assertThat(host.secureExpansion()).hasValue("mx-target0.dane.test");
        try {
            // The chain has TTL 0: nothing keeps it; any second look at the alias now fails.
            dns.fail("mx-alias0.dane.test", Type.A);
            dns.fail("mx-alias0.dane.test", Type.AAAA);
            HostTls decision = DanePolicies.of(new TlsaLookup(client))
                    .forDomain(new TlsPolicies.Destination("alias0.dane.test", false), routes).forHost(host);
            assertThat(decision).as(decision.toString()).isInstanceOf(HostTls.Authenticated.class);
            assertThat(((HostTls.Authenticated) decision).policy().strings()).singleElement().asString().isEqualToIgnoringCase(zone.eeRecord());
            assertThat(((HostTls.Authenticated) decision).authentication().serverName()).as("SNI: the TLSA base domain, RFC 7672 §8.1")
                    .hasValue("mx-target0.dane.test");
        } finally {
            dns.heal();
        }
    }
}
