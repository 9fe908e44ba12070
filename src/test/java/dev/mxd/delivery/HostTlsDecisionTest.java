package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the remote agent follows the TLS decision for each MX host (the seam DANE and MTA-STS plug into):
 * a host a policy rules out is not connected to; one that must authenticate but offers no STARTTLS is
 * passed over with 4.7.5 and the next host tried; a tested policy still delivers; each outcome is told
 * to {@link TlsResults}. Two MX hosts on 127.0.0.1 and 127.0.0.2, scripted servers without STARTTLS.
 */
class HostTlsDecisionTest {

    private Path dir;
    private MxdDnsServer dns;
    private final List<String> recorded = new CopyOnWriteArrayList<>();
    private final TlsResults results = (domain, host, address, tls, failure) ->
            recorded.add(domain + " " + host + " " + tls.policy().type() + " " + failure.map(TlsResults.Failure::resultType).orElse("ok"));

    /** A check that must never run here: these servers offer no TLS. */
    private static final ServerAuthentication NEVER = new ServerAuthentication() {
        public String method() {
            return "TEST";
        }

        public String verify(List<java.security.cert.X509Certificate> chain, String host) throws Rejected {
            throw new Rejected("validation-failure", "not expected to be called");
        }
    };
    private static final HostTls.ReportedPolicy TLSA = new HostTls.ReportedPolicy("tlsa", List.of("3 1 1 00"), List.of());

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-hosttls");
        Path zone = Files.writeString(dir.resolve("agent.test.zone"), String.join("\n",
                "$ORIGIN agent.test.", "$TTL 300", "@ IN SOA ns.agent.test. h.agent.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX 10 mx1", "@ MX 20 mx2", "mx1 IN A 127.0.0.1", "mx2 IN A 127.0.0.2", "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() {
        dns.close();
        TestDirs.deleteTree(dir);
    }

    private RemoteDeliveryAgent agent(int port, Function<String, HostTls> byHost) {
        return agent(port, byHost, NextHop.Routing.BY_MX, results);
    }

    private RemoteDeliveryAgent agent(int port, Function<String, HostTls> byHost, NextHop.Routing routing, TlsResults sink) {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        HostStatusTable hosts = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        TlsPolicies policies = (destination, routes) -> host -> byHost.apply(host.name());
        return new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, 5, port), hosts,
                ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))),
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), routing, policies, sink);
    }

    private List<RecipientStatus> deliver(RemoteDeliveryAgent agent) throws Exception {
        return deliver(agent, "Subject: hi\r\n\r\nhello\r\n");
    }

    private List<RecipientStatus> deliver(RemoteDeliveryAgent agent, String message) throws Exception {
        return deliver(agent, message, MailParameters.NONE);
    }

    private List<RecipientStatus> deliver(RemoteDeliveryAgent agent, String message, MailParameters parameters) throws Exception {
        Path text = Files.write(dir.resolve("text"), message.getBytes(StandardCharsets.US_ASCII));
        Recipient r = new Recipient(Mailbox.parse("user@agent.test"), RcptParameters.NONE, new Route.Relay("agent.test"));
        RecipientStatus pending = new RecipientStatus(r, DeliveryState.PENDING, "", Instant.now());
        Envelope e = new Envelope("Q1", Optional.of(Mailbox.parse("a@x.test")), parameters, List.of(pending),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
        return agent.deliver(e, text, List.of(pending)).stream().map(d -> pending.after(d, Instant.now())).toList();
    }

    private static FakeSmtpServer mx(String address, int port) throws Exception {
        return FakeSmtpServer.startOn(new InetSocketAddress(address, port), 10, "220 " + address + " ESMTP", List.of("PIPELINING"), c -> null);
    }

    @Test
    void hostsAPolicyRulesOutAreNeverConnectedToAndTheMailDefersWith475() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            HostTls no = new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "not among the policy's mx patterns",
                    "validation-failure", new HostTls.ReportedPolicy("sts", List.of("version: STSv1"), List.of("mx.other.test")));
            assertThat(deliver(agent(port, h -> no))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.status()).contains(EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
                assertThat(r.detail()).contains("not among the policy's mx patterns");
            });
            assertThat(one.commands).isEmpty();
            assertThat(two.commands).isEmpty();
            assertThat(recorded).containsExactly("agent.test mx1.agent.test sts validation-failure",
                    "agent.test mx2.agent.test sts validation-failure");
        }
    }

    @Test
    void aHostThatMustAuthenticateButOffersNoStarttlsIsPassedOverForTheNext() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            Function<String, HostTls> policy = h -> h.startsWith("mx1")
                    ? new HostTls.Authenticated(NEVER, TLSA) : new HostTls.Opportunistic();
            assertThat(deliver(agent(port, policy))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.commands(("MAIL"))).as("no mail in plain text to a host DANE covers").isEmpty();
            assertThat(one.messages).isEmpty();
            assertThat(two.messages).hasSize(1);
            assertThat(recorded).containsExactly("agent.test mx1.agent.test tlsa starttls-not-supported",
                    "agent.test mx2.agent.test no-policy-found starttls-not-supported");
        }
    }

    @Test
    void whenEveryHostMustBeEncryptedAndNoneCanTheMailWaitsWith475() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            assertThat(deliver(agent(port, h -> new HostTls.Encrypted(TLSA)))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.status()).contains(EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
                assertThat(r.detail()).contains("does not offer STARTTLS");
            });
            assertThat(one.messages).isEmpty();
            assertThat(two.messages).isEmpty();
        }
    }

    @Test
    void aTestedPolicyDeliversWhateverTheCheckFindsAndReportsIt() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            HostTls.ReportedPolicy sts = new HostTls.ReportedPolicy("sts", List.of("mode: testing"), List.of("*.agent.test"));
            assertThat(deliver(agent(port, h -> new HostTls.Tested(NEVER, sts)))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.messages).hasSize(1);
            assertThat(recorded).containsExactly("agent.test mx1.agent.test sts starttls-not-supported");
        }
    }

    @Test
    void sessionsToARelayHostOrOfMailThatWaivesThePolicyAreNotReported() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            // a relay host stands in for the domain's MX: its TLS says nothing about the domain's policy (RFC 8460 §4.3)
            NextHop.Host hop = new NextHop.Host("127.0.0.2", Optional.of(java.net.InetAddress.getByName("127.0.0.2")),
                    java.util.OptionalInt.of(port));
            assertThat(deliver(agent(port, h -> new HostTls.Opportunistic(), d -> Optional.of(hop), results))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(two.messages).hasSize(1);
            // TLS-Required: No (RFC 8689 §5), which TLS reports themselves carry (RFC 8460 §3)
            assertThat(deliver(agent(port, h -> new HostTls.Opportunistic()), "TLS-Required: No\r\nSubject: report\r\n\r\nhi\r\n"))
                    .singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.messages).hasSize(1);
            assertThat(recorded).isEmpty();
        }
    }

    @Test
    void aResultsSinkThatThrowsNeverStopsTheMail() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            TlsResults broken = (domain, host, address, tls, failure) -> {
                throw new IllegalStateException("the report store is broken");
            };
            assertThat(deliver(agent(port, h -> new HostTls.Opportunistic(), NextHop.Routing.BY_MX, broken))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.messages).hasSize(1);
        }
    }

    @Test
    void theFallbackToPlainTextAfterAFailedHandshakeIsOneFailureNotTwo() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        Function<String, String> brokenTls = c -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null;
        try (FakeSmtpServer one = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 10, "220 mx1 ESMTP",
                List.of("STARTTLS"), brokenTls)) {
            assertThat(deliver(agent(port, h -> new HostTls.Opportunistic()))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.messages).hasSize(1);
            assertThat(recorded).containsExactly("agent.test mx1.agent.test no-policy-found validation-failure");
        }
    }

    @Test
    void aCachedPlainTextConnectionIsNotReusedForAHostThatMustEncrypt() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer one = mx("127.0.0.1", port); FakeSmtpServer two = mx("127.0.0.2", port)) {
            java.util.concurrent.atomic.AtomicReference<HostTls> policy = new java.util.concurrent.atomic.AtomicReference<>(
                    new HostTls.Opportunistic());
            RemoteDeliveryAgent agent = agent(port, h -> policy.get());
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(one.messages).hasSize(1); // its connection is now idle in the cache
            policy.set(new HostTls.Encrypted(TLSA));
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.status()).contains(EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
            });
            assertThat(one.messages).as("nothing more in plain text to a host that must encrypt").hasSize(1);
            assertThat(two.messages).isEmpty();
        }
    }

    /**
     * REQUIRETLS: the better MX qualifies but is down, the other can never take the message (opportunistic only): the
     * message waits for the first, and its deferral carries a temporary status, never the second's 5.7.10.
     */
    @Test
    void aRequireTlsDeferralBesideARefusedHostCarriesATemporaryStatus() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        try (FakeSmtpServer two = mx("127.0.0.2", port)) {
            HostTls.ReportedPolicy sts = new HostTls.ReportedPolicy("sts", List.of(), List.of("mx1.agent.test"));
            Function<String, HostTls> policy = h -> h.startsWith("mx1") ? new HostTls.Authenticated(NEVER, sts) : new HostTls.Opportunistic();
            assertThat(deliver(agent(port, policy), "Subject: hi\r\n\r\nhello\r\n", MailParameters.NONE.withRequireTls(true)))
                    .singleElement().satisfies(r -> {
                        assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                        assertThat(r.status()).hasValueSatisfying(st -> assertThat(st.permanent()).as("status %s", st).isFalse());
                    });
            assertThat(two.commands("MAIL")).isEmpty();
        }
    }
}
