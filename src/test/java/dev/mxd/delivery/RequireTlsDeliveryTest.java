package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsPolicies;
import dev.mxd.tls.TlsResults;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * REQUIRETLS and {@code TLS-Required: No} (RFC 8689) in the remote agent, with TLS policies made here: an
 * in-process zone whose MX is 127.0.0.1 (its MX lookup is not DNSSEC-secure), and as the next hop an mxd
 * with a certificate (it offers REQUIRETLS after STARTTLS) or a scripted server.
 */
class RequireTlsDeliveryTest {

    /** Accepts any certificate: what DANE or MTA-STS would decide is not this test's subject. */
    static final ServerAuthentication ANY = new ServerAuthentication() {
        public String method() {
            return "TEST";
        }

        public String verify(List<java.security.cert.X509Certificate> chain, String host) {
            return "accepted by the test";
        }
    };

    private Path dir;
    private MxdDnsServer dns;

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-requiretls");
        dns = MxdDnsServer.start(java.util.Map.of("example.test", TestDirs.zone(dir, "example.test", "@ MX 10 mx", "mx IN A 127.0.0.1")));
    }

    @AfterEach
    void stop() {
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    /** Every host authenticated, by an enforced MTA-STS policy ("sts") or by DANE ("tlsa"). */
    static TlsPolicies authenticated(String type) {
        HostTls.ReportedPolicy policy = new HostTls.ReportedPolicy(type, List.of(), List.of("mx.example.test"));
        return (destination, routes) -> host -> new HostTls.Authenticated(ANY, policy);
    }

    RemoteDeliveryAgent agent(int port, TlsPolicies policies) {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        HostStatusTable hosts = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        ClientSettings client = ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5)));
        return new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, 5, port), hosts, client,
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), NextHop.Routing.BY_MX, policies, TlsResults.NONE);
    }

    DeliveryResult deliver(RemoteDeliveryAgent agent, boolean requireTls, String header) throws Exception {
        return deliver(agent, requireTls, header, Optional.of(Mailbox.parse("a@x.test")), Envelope.Kind.MAIL);
    }

    DeliveryResult deliver(RemoteDeliveryAgent agent, boolean requireTls, String header, Optional<Mailbox> sender, Envelope.Kind kind)
            throws Exception {
        return deliver(agent, dir, "example.test", requireTls, header, sender, kind);
    }

    /**
     * Delivers one message to alice@example.test through the MX hosts of {@code mxDomain} (a route to them), its text
     * written in {@code dir}; the one result.
     */
    static DeliveryResult deliver(RemoteDeliveryAgent agent, Path dir, String mxDomain, boolean requireTls, String header,
                                  Optional<Mailbox> sender, Envelope.Kind kind) throws Exception {
        Path text = Files.write(dir.resolve("text"), (header + "Subject: secret\r\n\r\nhello\r\n").getBytes(StandardCharsets.US_ASCII));
        Recipient r = new Recipient(Mailbox.parse("alice@example.test"), RcptParameters.NONE, new Route.Relay(mxDomain));
        RecipientStatus pending = new RecipientStatus(r, DeliveryState.PENDING, "", Instant.now());
        Envelope e = new Envelope("Q1", sender, MailParameters.NONE.withRequireTls(requireTls),
                List.of(pending), new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, true), Instant.now(),
                Files.size(text), kind);
        List<DeliveryResult> results = agent.deliver(e, text, List.of(pending));
        assertThat(results).hasSize(1);
        return results.get(0);
    }

    private TestMx nextHopWithTls() throws Exception {
        return TestMx.start(Certificates.tlsSection(dir));
    }

    @Test
    void anAuthenticatedHostThatOffersRequireTlsTakesTheMessage() throws Exception {
        try (TestMx next = nextHopWithTls()) {
            // mxd refuses MAIL FROM ... REQUIRETLS outside TLS (530 5.7.10): the delivery shows it went over TLS with it.
            DeliveryResult r = deliver(agent(next.smtp().getPort(), authenticated("sts")), true, "");
            assertThat(r).isInstanceOf(DeliveryResult.Delivered.class);
            next.awaitDelivered("alice", 1, Duration.ofSeconds(20));
        }
    }

    @Test
    void opportunisticHostsOnlyReturnTheMessageWith5710WithoutConnecting() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("STARTTLS", "REQUIRETLS"), c -> null)) {
            DeliveryResult r = deliver(agent(mx.address().getPort(), TlsPolicies.OPPORTUNISTIC), true, "");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Failed.class, f -> {
                assertThat(f.status()).isEqualTo(EnhancedStatus.ENCRYPTION_NEEDED);
                assertThat(f.detail()).contains("REQUIRETLS").contains("not authenticated by DANE or MTA-STS");
            });
            assertThat(mx.commands).isEmpty();
        }
    }

    /**
     * mxd's notice of a REQUIRETLS message (from <>, spooled with REQUIRETLS): RFC 8689 §4.2.1 binds a non-empty return
     * path only. It was refused at every host of a sender domain without DANE or MTA-STS (most), and the sender never
     * heard of the failure; now it goes as other mail does, without the parameter.
     */
    @Test
    void aNoticeFromTheNullSenderIsNotHeldToRequireTls() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("PIPELINING"), c -> null)) {
            DeliveryResult r = deliver(agent(mx.address().getPort(), TlsPolicies.OPPORTUNISTIC), true, "", Optional.empty(),
                    Envelope.Kind.SENDER_NOTICE);
            assertThat(r).isInstanceOf(DeliveryResult.Delivered.class);
            assertThat(mx.commands("MAIL")).singleElement().asString().startsWith("MAIL FROM:<>").doesNotContain("REQUIRETLS");
            // Another MTA's notice, received from <> with REQUIRETLS, keeps the demand it came with.
            DeliveryResult relayed = deliver(agent(mx.address().getPort(), TlsPolicies.OPPORTUNISTIC), true, "", Optional.empty(),
                    Envelope.Kind.MAIL);
            assertThat(relayed).isInstanceOfSatisfying(DeliveryResult.Failed.class,
                    f -> assertThat(f.status()).isEqualTo(EnhancedStatus.ENCRYPTION_NEEDED));
        }
    }

    @Test
    void daneWithoutASecureMxLookupIsNotEnoughForRequireTls() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("STARTTLS", "REQUIRETLS"), c -> null)) {
            DeliveryResult r = deliver(agent(mx.address().getPort(), authenticated("tlsa")), true, "");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Failed.class, f -> {
                assertThat(f.status()).isEqualTo(EnhancedStatus.ENCRYPTION_NEEDED);
                assertThat(f.detail()).contains("not DNSSEC-secure");
            });
            assertThat(mx.commands).isEmpty();
        }
    }

    @Test
    void aHostThatIsDownDefersARequireTlsMessageAsUsual() throws Exception {
        int nothing = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        DeliveryResult r = deliver(agent(nothing, authenticated("sts")), true, "");
        assertThat(r).isInstanceOf(DeliveryResult.Deferred.class);
    }

    @Test
    void tlsRequiredNoIgnoresThePoliciesAndSendsWithoutTheParameter() throws Exception {
        HostTls.ReportedPolicy sts = new HostTls.ReportedPolicy("sts", List.of(), List.of("other.example.test"));
        TlsPolicies notInPolicy = (destination, routes) -> host -> new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE,
                "not among the MTA-STS policy's mx", "validation-failure", sts);
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("REQUIRETLS"), c -> null)) {
            assertThat(deliver(agent(mx.address().getPort(), notInPolicy), false, "")).isInstanceOf(DeliveryResult.Deferred.class);
            assertThat(mx.commands).isEmpty();

            DeliveryResult r = deliver(agent(mx.address().getPort(), notInPolicy), false, "TLS-Required:   no\r\n");
            assertThat(r).isInstanceOf(DeliveryResult.Delivered.class);
            assertThat(mx.commands("MAIL")).singleElement().satisfies(m -> assertThat(m).doesNotContain("REQUIRETLS"));
        }
    }

    @Test
    void tlsRequiredNoIsIgnoredForARequireTlsMessage() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("REQUIRETLS"), c -> null)) {
            DeliveryResult r = deliver(agent(mx.address().getPort(), TlsPolicies.OPPORTUNISTIC), true, "TLS-Required: No\r\n");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Failed.class,
                    f -> assertThat(f.status()).isEqualTo(EnhancedStatus.ENCRYPTION_NEEDED));
            assertThat(mx.commands).isEmpty();
        }
    }

    /**
     * One domain's TLS policy that a host fails (it offers no STARTTLS, and the domain's MTA-STS policy
     * requires TLS) defers that domain's mail and leaves the host to the others: it was postponed in the
     * table every domain shares, and mail for a domain without a policy, which would have gone through
     * in plain text, was passed over with 4.4.1 (review finding).
     */
    @Test
    void aHostFailingOneDomainsTlsPolicyStillTakesOtherMail() throws Exception {
        java.util.concurrent.atomic.AtomicReference<TlsPolicies> policies = new java.util.concurrent.atomic.AtomicReference<>(authenticated("sts"));
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of(), c -> null)) {
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), (destination, routes) -> policies.get().forDomain(destination, routes));
            assertThat(deliver(agent, false, "")).isInstanceOfSatisfying(DeliveryResult.Deferred.class,
                    d -> assertThat(d.status()).isEqualTo(EnhancedStatus.CRYPTOGRAPHIC_FAILURE));
            policies.set(TlsPolicies.OPPORTUNISTIC); // the same host, for mail whose domain has no policy
            assertThat(deliver(agent, false, "")).isInstanceOf(DeliveryResult.Delivered.class);
        }
    }

    /**
     * A connection the Web PKI check of an MTA-STS policy authenticated is not reused for a host whose decision is DANE:
     * the cached session never met the TLSA records (review finding). Both decisions are for the same host name here.
     */
    @Test
    void aCachedConnectionAuthenticatedByAnotherMethodIsNotReused() throws Exception {
        ServerAuthentication rejectAll = new ServerAuthentication() {
            public String method() {
                return "DANE";
            }

            public String verify(List<java.security.cert.X509Certificate> chain, String host) throws Rejected {
                throw new Rejected("validation-failure", "no TLSA record matches (test)");
            }
        };
        java.util.concurrent.atomic.AtomicReference<HostTls> decision = new java.util.concurrent.atomic.AtomicReference<>(
                new HostTls.Authenticated(ANY, new HostTls.ReportedPolicy("sts", List.of(), List.of("mx.example.test"))));
        try (TestMx next = nextHopWithTls()) {
            RemoteDeliveryAgent agent = agent(next.smtp().getPort(), (destination, routes) -> host -> decision.get());
            assertThat(deliver(agent, false, "")).isInstanceOf(DeliveryResult.Delivered.class);
            next.awaitDelivered("alice", 1, Duration.ofSeconds(20));
            decision.set(new HostTls.Authenticated(rejectAll, new HostTls.ReportedPolicy("tlsa", List.of("3 1 1 00"), List.of())));
            DeliveryResult r = deliver(agent, false, "");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Deferred.class,
                    d -> assertThat(d.status()).isEqualTo(dev.mxd.smtp.EnhancedStatus.CRYPTOGRAPHIC_FAILURE));
            assertThat(next.delivered("alice")).hasSize(1);
        }
    }

    /**
     * A domain whose MTA-STS policy cannot be known now (announced, but its fetch failed): a REQUIRETLS message waits
     * for it (deferred), where a domain with no policy at all has it returned 5.7.10 (review finding).
     */
    @Test
    void aPolicyThatCannotBeReadNowDefersARequireTlsMessage() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.example.test ESMTP", List.of("STARTTLS", "REQUIRETLS"), c -> null)) {
            TlsPolicies unknown = (destination, routes) -> host -> new HostTls.Opportunistic(true);
            DeliveryResult r = deliver(agent(mx.address().getPort(), unknown), true, "");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Deferred.class,
                    d -> assertThat(d.detail()).contains("cannot be read now"));
            assertThat(deliver(agent(mx.address().getPort(), TlsPolicies.OPPORTUNISTIC), true, ""))
                    .isInstanceOf(DeliveryResult.Failed.class);
            assertThat(mx.commands("MAIL")).isEmpty();
        }
    }
}
