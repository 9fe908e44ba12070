package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DnssecConfig;
import dev.mxd.config.DnssecMode;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.dns.TlsaLookup;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.Envelope;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.DaneZone;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import dev.mxd.tls.DanePolicies;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsPolicies;
import dev.mxd.tls.WebPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RFC 8689 §4.2.1 without DANE or MTA-STS: a REQUIRETLS message may go to an MX host that a DNSSEC-validated MX
 * lookup found when its certificate is valid under the Web PKI for the MX host name. Real Knot serves
 * {@code dane.test} signed ({@link DaneZone}); {@code none.dane.test} has MX {@code mx-none} at 127.0.0.1 and no TLSA
 * records. The next hop is an mxd (it offers REQUIRETLS only after STARTTLS and refuses it outside TLS) presenting a
 * certificate for {@code mx-none.dane.test} issued by the zone's private CA.
 */
@PeerTest
class RequireTlsPkixPeerTest {

    private static DaneZone zone;
    private static Path dir;
    private static TestMx next;

    @BeforeAll
    static void start() throws Exception {
        zone = DaneZone.start();
        dir = Files.createTempDirectory("mxd-requiretls-pkix");
        Certificates.issuedBy(zone.ca(), zone.caKey(), dir.resolve("leaf.pem"), dir.resolve("leaf.key"), "mx-none.dane.test");
        Files.writeString(dir.resolve("chain.pem"), Files.readString(dir.resolve("leaf.pem")) + Files.readString(zone.ca()));
        Certificates.privateCa(dir.resolve("other-ca.pem"), dir.resolve("other-ca.key"), "mxd other test CA");
        next = TestMx.start("tls:\n  certificate: " + dir.resolve("chain.pem") + "\n  private-key: " + dir.resolve("leaf.key") + "\n");
    }

    @AfterAll
    static void stop() throws Exception {
        if (next != null) {
            next.close();
        }
        if (zone != null) {
            zone.close();
        }
        TestDirs.deleteTree(dir);
    }

    /** An agent validating from the zone's anchor, DANE on, REQUIRETLS's PKIX check trusting {@code ca} (none: no such check). */
    private static RemoteDeliveryAgent agent(Optional<Path> ca) throws Exception {
        return agent(ca, dns -> DanePolicies.of(new TlsaLookup(dns)));
    }

    /** Sessions told to the TLS reports. */
    private static final List<String> reported = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static RemoteDeliveryAgent agent(Optional<Path> ca, java.util.function.Function<DnsClient, TlsPolicies> policies)
            throws Exception {
        DnsClient dns = new DnsClient(new DnsSettings(List.of(zone.knot().address()), Duration.ofMillis(500), 2, Duration.ofSeconds(3),
                8, 100, Duration.ofDays(1)).withDnssec(DnssecMode.VALIDATE, DnssecConfig.readAnchors(zone.anchor())));
        MxResolver resolver = new MxResolver(dns, MxPolicy.defaults().withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        HostStatusTable hosts = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        ClientSettings client = ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5)));
        Optional<dev.mxd.smtp.client.ServerAuthentication> pkix = ca.isEmpty() ? Optional.empty()
                : Optional.of(WebPki.of(ca).requireTlsAuthentication());
        return new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, 5, next.smtp().getPort()), hosts, client,
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), NextHop.Routing.BY_MX,
                policies.apply(dns), (domain, host, address, tls, failure) -> reported.add(host + " " + failure), pkix);
    }

    private static DeliveryResult deliver(RemoteDeliveryAgent agent, boolean requireTls) throws Exception {
        return RequireTlsDeliveryTest.deliver(agent, dir, "none.dane.test", requireTls, "", Optional.of(Mailbox.parse("a@x.test")),
                Envelope.Kind.MAIL);
    }

    @Test
    void aSecureMxHostWithACertificateValidForItsNameTakesARequireTlsMessage() throws Exception {
        int before = next.delivered("alice").size();
        DeliveryResult r = deliver(agent(Optional.of(zone.ca())), true);
        assertThat(r).as(r.toString()).isInstanceOf(DeliveryResult.Delivered.class);
        // mxd refuses MAIL FROM ... REQUIRETLS outside TLS (530 5.7.10): the copy shows it went over TLS, with the parameter.
        next.awaitDelivered("alice", before + 1, Duration.ofSeconds(20));
    }

    @Test
    void aCertificateNotValidUnderTheWebPkiDefersTheHostAndSendsNothing() throws Exception {
        int before = next.delivered("alice").size();
        reported.clear();
        DeliveryResult r = deliver(agent(Optional.of(dir.resolve("other-ca.pem"))), true);
        // mxd's own check for the sender, no policy of the domain's: not in the domain's TLS report (RFC 8460)
        assertThat(reported).isEmpty();
        assertThat(r).as(r.toString()).isInstanceOfSatisfying(DeliveryResult.Deferred.class, d -> {
            assertThat(d.status()).isEqualTo(EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
            assertThat(d.detail()).contains("not authenticated by PKIX");
        });
        // Other mail to the same host goes as before: opportunistic TLS, no certificate check.
        assertThat(deliver(agent(Optional.of(dir.resolve("other-ca.pem"))), false)).isInstanceOf(DeliveryResult.Delivered.class);
        next.awaitDelivered("alice", before + 1, Duration.ofSeconds(20));
        assertThat(next.delivered("alice")).hasSize(before + 1);
    }

    /**
     * An MTA-STS policy in testing mode authenticates nothing (RFC 8461 §5): the PKIX check applies as without a policy
     * (the message was returned 5.7.10, where the same domain without any policy took it).
     */
    @Test
    void anMtaStsTestingPolicyIsNoObstacleToThePkixCheck() throws Exception {
        HostTls.ReportedPolicy testing = new HostTls.ReportedPolicy("sts", List.of("mode: testing"), List.of("elsewhere.test"));
        dev.mxd.smtp.client.ServerAuthentication refuses = new dev.mxd.smtp.client.ServerAuthentication() {
            public String method() {
                return "MTA-STS";
            }

            public String verify(List<java.security.cert.X509Certificate> chain, String host) throws Rejected {
                throw new Rejected("validation-failure", host + " is not among the policy's mx");
            }
        };
        int before = next.delivered("alice").size();
        DeliveryResult r = deliver(agent(Optional.of(zone.ca()), dns -> TlsPolicies.inOrder(List.of(DanePolicies.of(new TlsaLookup(dns)),
                (d, routes) -> host -> new HostTls.Tested(refuses, testing)))), true);
        assertThat(r).as(r.toString()).isInstanceOf(DeliveryResult.Delivered.class);
        next.awaitDelivered("alice", before + 1, Duration.ofSeconds(20));
    }

    @Test
    void withoutThePkixCheckOnlyDaneOrMtaStsWouldDoAndTheMessageIsReturned() throws Exception {
        DeliveryResult r = deliver(agent(Optional.empty()), true);
        assertThat(r).as(r.toString()).isInstanceOfSatisfying(DeliveryResult.Failed.class,
                f -> assertThat(f.status()).isEqualTo(EnhancedStatus.ENCRYPTION_NEEDED));
    }
}
