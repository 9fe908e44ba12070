package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.ArrayList;
import java.util.Set;
import java.util.Optional;
import java.util.stream.IntStream;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The remote agent's decisions with an in-process zone and a scripted MX host on 127.0.0.1. */
class RemoteDeliveryAgentTest {

    private Path dir;
    private MxdDnsServer dns;

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-agent");
        Path zone = Files.writeString(dir.resolve("agent.test.zone"), String.join("\n",
                "$ORIGIN agent.test.", "$TTL 300", "@ IN SOA ns.agent.test. h.agent.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX 10 mx", "mx IN A 127.0.0.1", "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() {
        dns.close();
        TestDirs.deleteTree(dir);
    }

    private RemoteDeliveryAgent agent(int port, HostStatusTable hosts) {
        return agent(port, hosts, NextHop.Routing.BY_MX);
    }

    private RemoteDeliveryAgent agent(int port, HostStatusTable hosts, NextHop.Routing routing) {
        return agent(port, hosts, routing, ClientSettings.defaults("mxd.test"));
    }

    private RemoteDeliveryAgent agent(int port, HostStatusTable hosts, NextHop.Routing routing, ClientSettings settings) {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        ClientSettings client = settings.withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5)));
        return new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, 5, port), hosts, client,
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), routing);
    }

    private List<RecipientStatus> deliver(RemoteDeliveryAgent agent) throws Exception {
        return deliver(agent, "a@x.test", "user@agent.test");
    }

    private List<RecipientStatus> deliver(RemoteDeliveryAgent agent, String sender, String recipient) throws Exception {
        return deliverTo(agent, Mailbox.parse(sender), Mailbox.parse(recipient));
    }

    private List<RecipientStatus> deliverTo(RemoteDeliveryAgent agent, Mailbox sender, Mailbox recipient) throws Exception {
        return deliverTo(agent, sender, recipient, "agent.test");
    }

    private List<RecipientStatus> deliverTo(RemoteDeliveryAgent agent, Mailbox sender, Mailbox recipient, String routeDomain) throws Exception {
        Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
        Recipient r = new Recipient(recipient, RcptParameters.NONE, new Route.Relay(routeDomain));
        RecipientStatus pending = new RecipientStatus(r, DeliveryState.PENDING, "", Instant.now());
        Envelope e = new Envelope("Q1", Optional.of(sender), MailParameters.NONE, List.of(pending),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
        return after(List.of(pending), agent.deliver(e, text, List.of(pending)));
    }

    /** The recipients' statuses after the agent's results, as the queue manager records them. */
    private static List<RecipientStatus> after(List<RecipientStatus> before, List<DeliveryResult> results) {
        assertThat(results).hasSameSizeAs(before);
        Instant now = Instant.now();
        return IntStream.range(0, before.size()).mapToObj(i -> before.get(i).after(results.get(i), now)).toList();
    }

    private static HostStatusTable hosts() {
        return new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
    }

    /**
     * A delivery over opportunistic TLS says so in the log, as Postfix's "Untrusted TLS connection established" line
     * does: it read as one in plain text (only failures and DANE matches were logged).
     */
    @Test
    void aSessionOverTlsIsLoggedWithItsProtocolAndCipher() throws Exception {
        dev.mxd.testing.Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        javax.net.ssl.SSLContext tls = ((io.netty.handler.ssl.JdkSslContext) io.netty.handler.ssl.SslContextBuilder
                .forServer(dir.resolve("cert.pem").toFile(), dir.resolve("key.pem").toFile())
                .sslProvider(io.netty.handler.ssl.SslProvider.JDK).build()).context();
        try (FakeSmtpServer server = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("PIPELINING", "STARTTLS"), c -> null)
                .offeringTls(tls);
             dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO)) {
            assertThat(deliver(agent(server.address().getPort(), hosts()))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("Untrusted TLS connection established to ")
                    .containsPattern(": TLSv1\\.[23] with cipher TLS_[A-Z0-9_]+$"));
        }
    }

    /**
     * A next hop that never answers the final dot: the message is deferred as "may have been delivered" after the
     * timeout, and the host is passed over until its retry time, so the next message is not sent whole to it again
     * (each such send a possible duplicate, RFC 1047; Postfix throttles a destination whose conversation timed out).
     */
    @Test
    void aNextHopSilentAfterTheFinalDotIsPassedOver() throws Exception {
        try (FakeSmtpServer silent = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("PIPELINING"),
                c -> c.equals(".") ? FakeSmtpServer.SILENCE : null)) {
            HostStatusTable hosts = hosts();
            RemoteDeliveryAgent agent = agent(silent.address().getPort(), hosts); // every timeout 5 s
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("may have been delivered");
            });
            assertThat(hosts.snapshot()).singleElement().satisfies(s -> assertThat(s.failures()).isEqualTo(1));
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
            assertThat(silent.connections()).as("no second message sent whole to the silent host").isEqualTo(1);
            assertThat(silent.commands.stream().filter("."::equals).count()).isEqualTo(1);
        }
    }

    /**
     * A stop whose drain has run out cuts short a delivery waiting on a silent next hop after its final dot: the
     * recipient is deferred at once as "maybe delivered" (not after the 10 minutes a final reply may take), and a
     * delivery asked for after it is deferred without a connection.
     */
    @Test
    void cutShortEndsADeliveryWaitingOnTheNextHopAndDefersLaterOnes() throws Exception {
        try (FakeSmtpServer silent = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("PIPELINING"),
                c -> c.equals(".") ? FakeSmtpServer.SILENCE : null)) {
            RemoteDeliveryAgent agent = agent(silent.address().getPort(), hosts(), NextHop.Routing.BY_MX,
                    ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(60))));
            List<RecipientStatus> after = deliverCutShortWhen(agent, () -> silent.commands.contains("."), Duration.ZERO);
            assertThat(after).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("may have been delivered");
            });
            int connections = silent.connections();
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("mxd is stopping");
            });
            assertThat(silent.connections()).isEqualTo(connections);
        }
    }

    /**
     * Delivers with {@code agent} while another thread cuts it short (a stop's drain running out) {@code settle} after
     * {@code ready} holds; the recipients after it, which must come well within the 60 s the agent would otherwise wait.
     */
    private List<RecipientStatus> deliverCutShortWhen(RemoteDeliveryAgent agent, java.util.function.BooleanSupplier ready,
                                                      Duration settle) throws Exception {
        Thread cutter = new Thread(() -> {
            dev.mxd.testing.Await.within(Duration.ofSeconds(20), Duration.ofMillis(20), ready::getAsBoolean);
            try {
                Thread.sleep(settle.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            agent.cutShort();
        });
        cutter.start();
        long start = System.nanoTime();
        List<RecipientStatus> after = deliver(agent);
        cutter.join(30_000);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
        return after;
    }

    /**
     * A stop cuts short a delivery still waiting for a next hop's greeting: the recipient is deferred at once, as the
     * stop says, not after the greeting's timeout (a stop took its whole drain and left the message without a word).
     */
    @Test
    void cutShortEndsADeliveryWaitingForAGreeting() throws Exception {
        try (FakeSmtpServer mute = FakeSmtpServer.start(FakeSmtpServer.SILENCE, List.of(), c -> null)) {
            RemoteDeliveryAgent agent = agent(mute.address().getPort(), hosts(), NextHop.Routing.BY_MX,
                    ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(60))));
            // cut 200 ms after the connection: the client is reading then, waiting for the 220
            List<RecipientStatus> after = deliverCutShortWhen(agent, () -> mute.connections() > 0, Duration.ofMillis(200));
            assertThat(after).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("mxd is stopping");
            });
        }
    }

    @Test
    void aRelayHostTakesThePlaceOfTheMxHostsOnItsOwnPort() throws Exception {
        try (FakeSmtpServer relay = FakeSmtpServer.start("220 relay.test ESMTP", List.of(), c -> null)) {
            int unused = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1"); // the MX hosts' port: nothing listens there
            NextHop.Host hop = new NextHop.Host("127.0.0.1", Optional.of(relay.address().getAddress()),
                    java.util.OptionalInt.of(relay.address().getPort()));
            NextHop.Routing routing = domain -> Optional.of(hop);
            assertThat(deliver(agent(unused, hosts(), routing))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED);
                assertThat(r.remoteMta()).contains("127.0.0.1[127.0.0.1]:" + relay.address().getPort());
            });
            assertThat(relay.messages).hasSize(1);
            // An address literal's mail goes to the relay host too, as Postfix's relayhost takes it (it failed 5.1.2 with a
            // relay host written [address]: "is an address literal, not a domain")
            assertThat(deliverTo(agent(unused, hosts(), routing), Mailbox.parse("a@x.test"), new Mailbox("bob", "[192.0.2.25]"),
                    "[192.0.2.25]")).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(relay.commands("RCPT")).last().isEqualTo("RCPT TO:<bob@[192.0.2.25]>");
        }
    }

    /**
     * Mail to an address literal (RFC 5321 §4.1.3: bob@[127.0.0.1], taken from a trusted client, or a
     * notice to a sender written so) goes to that address without DNS; the same address on this
     * host's own delivery port loops (5.4.6), and a literal that is no IP address fails (5.1.2).
     * Before, every such recipient failed with 5.1.2 "is an address literal, not a domain".
     */
    @Test
    void mailToAnAddressLiteralGoesToThatAddress() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 literal.test ESMTP", List.of(), c -> null)) {
            assertThat(deliverTo(agent(server.address().getPort(), hosts()), Mailbox.parse("a@x.test"),
                    new Mailbox("bob", "[127.0.0.1]"), "[127.0.0.1]")).singleElement().satisfies(r -> {
                        assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED);
                        assertThat(r.remoteMta()).contains("[127.0.0.1][127.0.0.1]:" + server.address().getPort());
                    });
            assertThat(server.commands("RCPT")).containsExactly("RCPT TO:<bob@[127.0.0.1]>");

            MxResolver self = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                    .withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.0.1"))));
            HostStatusTable hosts = hosts();
            RemoteDeliveryAgent toSelf = new RemoteDeliveryAgent(self, new RouteSelector(hosts, 5, server.address().getPort()), hosts,
                    ClientSettings.defaults("mxd.test"), new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4),
                    Clock.systemUTC(), NextHop.Routing.BY_MX);
            assertThat(deliverTo(toSelf, Mailbox.parse("a@x.test"), new Mailbox("bob", "[127.0.0.1]"), "[127.0.0.1]"))
                    .singleElement().satisfies(r -> {
                        assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                        assertThat(r.status()).map(Object::toString).contains("5.4.6");
                    });
            assertThat(deliverTo(toSelf, Mailbox.parse("a@x.test"), new Mailbox("bob", "[0.0.0.0]"), "[0.0.0.0]"))
                    .as("the unspecified address reaches this host").singleElement()
                    .satisfies(r -> assertThat(r.status()).map(Object::toString).contains("5.4.6"));
            for (String literal : List.of("[tag:x]", "[IPv6:::1]", "[224.0.0.1]")) { // the agent delivers over IPv4 only
                assertThat(deliverTo(agent(server.address().getPort(), hosts()), Mailbox.parse("a@x.test"),
                        new Mailbox("bob", literal), literal)).as(literal).singleElement().satisfies(r -> {
                            assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                            assertThat(r.status()).map(Object::toString).contains("5.1.2");
                        });
            }
            // Snum is 1*3DIGIT in decimal (RFC 5321 §4.1.3): leading zeros, which RCPT takes, reach 127.0.0.1 too (they failed 5.1.2)
            assertThat(deliverTo(agent(server.address().getPort(), hosts()), Mailbox.parse("a@x.test"),
                    new Mailbox("bob", "[127.000.0.001]"), "[127.000.0.001]")).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(server.messages).hasSize(2);
        }
    }

    /**
     * A quoted local part with a space or angle brackets (RFC 5321 §4.1.2), which the server accepts, goes
     * on quoted as it came; the client refused to build the transaction, so every attempt failed with an
     * exception until the message was held at its expiry, no notice sent.
     */
    @Test
    void aQuotedLocalPartWithASpaceIsSentQuoted() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(), c -> null)) {
            assertThat(deliver(agent(mx.address().getPort(), hosts()), "\"a <b>\"@x.test", "\"john smith\"@agent.test"))
                    .singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mx.commands("MAIL")).singleElement().asString().startsWith("MAIL FROM:<\"a <b>\"@x.test>");
            assertThat(mx.commands("RCPT")).containsExactly("RCPT TO:<\"john smith\"@agent.test>");
        }
    }

    /**
     * An envelope no command line can carry (none the server makes today; one from an older spool could)
     * fails at once with a notice, 5.1.7 for the sender's path and 5.1.3 for a recipient's, instead of
     * faulting at every attempt until the message is held at its expiry.
     */
    @Test
    void anEnvelopeNoCommandCanCarryFailsWithItsStatus() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(), c -> null)) {
            assertThat(deliverTo(agent(mx.address().getPort(), hosts()), new Mailbox("a\rb", "x.test"), new Mailbox("user", "agent.test")))
                    .singleElement().satisfies(r -> {
                        assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                        assertThat(r.status()).map(Object::toString).contains("5.1.7");
                    });
            assertThat(deliverTo(agent(mx.address().getPort(), hosts()), new Mailbox("a", "x.test"), new Mailbox("us\ner", "agent.test")))
                    .singleElement().satisfies(r -> assertThat(r.status()).map(Object::toString).contains("5.1.3"));
            assertThat(mx.messages).isEmpty();
        }
    }

    @Test
    void aRelayHostThatDoesNotResolveDefersInsteadOfBouncing() throws Exception {
        NextHop.Routing routing = domain -> Optional.of(new NextHop.Host("nohost.agent.test", Optional.empty(), java.util.OptionalInt.empty()));
        assertThat(deliver(agent(25, hosts(), routing))).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(r.detail()).contains("relay host [nohost.agent.test] for agent.test").contains("does not exist");
        });
        NextHop.Routing byMx = domain -> Optional.of(new NextHop.ByMx("nodomain.agent.test", java.util.OptionalInt.empty()));
        assertThat(deliver(agent(25, hosts(), byMx))).singleElement()
                .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
    }

    @Test
    void aSourceAddressThisHostCannotBindDefersWithoutBlamingTheHost() throws Exception {
        // A floating address that moved to another node after start: the mail waits, the MX host is not postponed.
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(), c -> null)) {
            HostStatusTable hosts = hosts();
            ClientSettings gone = ClientSettings.defaults("mxd.test")
                    .withSourceAddresses(List.of(java.net.InetAddress.getByName("192.0.2.77")));
            assertThat(deliver(agent(mx.address().getPort(), hosts, NextHop.Routing.BY_MX, gone))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("from the source address 192.0.2.77");
            });
            assertThat(hosts.snapshot()).isEmpty();
            assertThat(mx.messages).isEmpty();
        }
    }

    @Test
    void aBrokenTlsHandshakeIsRetriedOnTheSameHostWithoutTls() throws Exception {
        Function<String, String> brokenTls = c -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null;
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("STARTTLS"), brokenTls)) {
            HostStatusTable hosts = hosts();
            List<RecipientStatus> out = deliver(agent(mx.address().getPort(), hosts));
            assertThat(out).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED);
                assertThat(r.remoteMta()).hasValueSatisfying(m -> assertThat(m).startsWith("mx.agent.test[127.0.0.1]"));
            });
            assertThat(mx.commands("STARTTLS")).hasSize(1);
            assertThat(mx.messages).hasSize(1);
            assertThat(hosts.snapshot()).isEmpty();
        }
    }

    /**
     * Two MX names on one address (MX 10 mx, MX 20 mx2, as small domains have it): once the address was tried
     * in an attempt, the second name is not one more connection to the same server (a dead box's second
     * timeout, a greylisting server's second 451). Only a host name's TLS policy refusal leaves the address
     * to the next name (RequireTlsDeliveryTest).
     */
    @Test
    void anAddressTriedIsNotTriedAgainUnderAnotherNameInTheSameAttempt() throws Exception {
        try (MxdDnsServer two = MxdDnsServer.start(List.of(twoHostZone("127.0.0.1", "127.0.0.1")), new InetSocketAddress("127.0.0.1", 0));
             FakeSmtpServer dead = FakeSmtpServer.start(FakeSmtpServer.HANG_UP, List.of(), c -> null);
             FakeSmtpServer busy = FakeSmtpServer.start("220 mx.two.test ESMTP", List.of(), c -> c.startsWith("RCPT") ? "451 4.7.1 later" : null)) {
            for (FakeSmtpServer server : List.of(dead, busy)) {
                RemoteDeliveryAgent agent = twoHostAgent(two, hosts(), 5, server.address().getPort());
                assertThat(deliverTo(agent, Mailbox.parse("a@x.test"), Mailbox.parse("user@two.test"), "two.test")).singleElement()
                        .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
            }
            assertThat(dead.connections()).isEqualTo(1);
            assertThat(busy.commands("RCPT")).hasSize(1); // a server that answered (451): the same server under the other name
        }
    }

    @Test
    void aFourXxGreetingPostponesTheHostAndDefers() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("421 4.3.2 busy, try later", List.of(), c -> null)) {
            HostStatusTable hosts = hosts();
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), hosts);
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("421");
                // the server's own words are kept: an expiry notice's Diagnostic-Code quotes them (they were lost)
                assertThat(r.reply()).hasValueSatisfying(reply -> assertThat(reply.summary()).isEqualTo("421 4.3.2 busy, try later"));
                assertThat(r.status()).map(Object::toString).contains("4.4.1"); // mxd's status; the server's is in the reply
                assertThat(r.remoteMta()).hasValueSatisfying(m -> assertThat(m).startsWith("mx.agent.test["));
            });
            assertThat(hosts.snapshot()).singleElement().satisfies(s -> assertThat(s.host()).isEqualTo("mx.agent.test"));
            // While postponed, the next message does not even connect.
            int before = mx.commands("EHLO").size() + mx.commands("HELO").size();
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("passed over");
            });
            assertThat(mx.commands("EHLO").size() + mx.commands("HELO").size()).isEqualTo(before);
            // passed over inside the host's retry time: the message keeps its own schedule (no hint); while another
            // delivery probes the host, it comes back once the probe has told (PROBE_RESULT)
            Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            RecipientStatus pending = new RecipientStatus(new Recipient(Mailbox.parse("user@agent.test"), RcptParameters.NONE,
                    new Route.Relay("agent.test")), DeliveryState.PENDING, "", Instant.now());
            Envelope e = new Envelope("Q3", Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE, List.of(pending),
                    new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
            assertThat(agent.deliver(e, text, List.of(pending))).singleElement().isInstanceOfSatisfying(DeliveryResult.Deferred.class,
                    d -> assertThat(d.retryBy()).isEmpty());
            // a host whose retry time has passed and that another delivery is probing
            HostStatusTable quick = new HostStatusTable(Duration.ofMillis(1), Duration.ofMinutes(10), 100, InstantSource.system());
            RemoteDeliveryAgent probed = agent(mx.address().getPort(), quick);
            MxRoute route = new MxRoute("mx.agent.test", 10, java.net.InetAddress.getByName("127.0.0.1"), mx.address().getPort());
            quick.failed(route, "timeout");
            Thread.sleep(10);
            Thread prober = new Thread(() -> quick.admit(route, false));
            prober.start();
            prober.join();
            Instant asked = Instant.now();
            assertThat(probed.deliver(e, text, List.of(pending))).singleElement().isInstanceOfSatisfying(DeliveryResult.Deferred.class,
                    d -> assertThat(d.retryBy()).hasValueSatisfying(t -> assertThat(t).isBetween(asked.plusSeconds(29), asked.plusSeconds(40))));
        }
    }

    /**
     * ORCPT goes on to a DSN server with the type it came with (RFC 3461 §4.2): an x400 address
     * stays x400, where it went out as "rfc822;x400;..."; an rfc822 one with UTF-8 goes as RFC
     * 6533's utf-8 type in its ASCII form.
     */
    @Test
    void orcptGoesOnWithItsOwnType() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("DSN"), c -> null)) {
            Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            List<RecipientStatus> pending = new ArrayList<>();
            for (String[] r : new String[][] {{"x@agent.test", "x400;c=us;a= ;s=Smith"}, {"u@agent.test", "rfc822;j\u00fcrgen@agent.test"}}) {
                pending.add(new RecipientStatus(new Recipient(Mailbox.parse(r[0]), new RcptParameters(Set.of(DsnNotify.FAILURE),
                        Optional.of(r[1])), new Route.Relay("agent.test")), DeliveryState.PENDING, "", Instant.now()));
            }
            Envelope e = new Envelope("Q1", Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE, pending,
                    new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
            assertThat(after(pending, agent(mx.address().getPort(), hosts()).deliver(e, text, pending)))
                    .allSatisfy(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mx.commands("RCPT")).containsExactly(
                    "RCPT TO:<x@agent.test> NOTIFY=FAILURE ORCPT=x400;c+3Dus;a+3D+20;s+3DSmith",
                    "RCPT TO:<u@agent.test> NOTIFY=FAILURE ORCPT=utf-8;j\\x{FC}rgen@agent.test");
        }
    }

    /**
     * A server without PIPELINING that takes one message a session: on the reused connection it refuses MAIL for
     * good ("too many messages this session") and hangs up. The refusal is the session's, not the message's: a fresh
     * connection decides (it bounced the message before, as with PIPELINING it did not).
     */
    @Test
    void aMailRefusedOnAReusedConnectionIsDecidedOnAFreshOne() throws Exception {
        java.util.concurrent.atomic.AtomicInteger mails = new java.util.concurrent.atomic.AtomicInteger();
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("MAIL") && mails.incrementAndGet() == 2
                        ? "550 5.7.1 too many messages this session" + FakeSmtpServer.HANG_UP : null)) {
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), hosts());
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mails.get()).as("the refused MAIL and the fresh connection's").isEqualTo(3);
            assertThat(mx.messages).hasSize(2);
        }
    }

    /** A per-session limit that does not hang up (it answers RSET, and the refusal names no sender): a fresh connection decides. */
    @Test
    void aSessionLimitWithoutAHangUpIsDecidedOnAFreshConnection() throws Exception {
        java.util.concurrent.atomic.AtomicInteger mails = new java.util.concurrent.atomic.AtomicInteger();
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("MAIL") && mails.incrementAndGet() == 2 ? "550 5.5.0 too many messages this session" : null)) {
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), hosts());
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mx.connections()).isEqualTo(2);
            assertThat(mx.messages).hasSize(2);
        }
    }

    /** A server that refuses the sender and goes on serving the session (it answers RSET): the refusal stands, one session. */
    @Test
    void aMailRefusedOnAReusedConnectionThatStillServesStands() throws Exception {
        java.util.concurrent.atomic.AtomicInteger mails = new java.util.concurrent.atomic.AtomicInteger();
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("MAIL") && mails.incrementAndGet() == 2 ? "550 5.7.1 sender refused" : null)) {
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), hosts());
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                assertThat(r.reply()).map(SmtpReply::summary).contains("550 5.7.1 sender refused");
            });
            assertThat(deliver(agent)).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mx.connections()).as("one session carried all three").isEqualTo(1);
        }
    }

    /**
     * A server that refuses EHLO and then HELO with 5yz refuses this host for good (RFC 5321 §4.2.1): when it is the
     * only MX host, the recipient fails now with the server's reply, as Postfix's "refused to talk to me" bounces,
     * and is not retried for five days to end in 4.4.7. A 4yz to HELO is a deferral as before.
     */
    @Test
    void everyHostRefusingHeloWith5yzFailsTheRecipientsNow() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(),
                c -> c.startsWith("EHLO") ? "550 5.7.1 go away" : c.startsWith("HELO") ? "550 5.7.1 go away too" : null)) {
            HostStatusTable table = hosts();
            assertThat(deliver(agent(mx.address().getPort(), table))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                assertThat(r.status()).map(Object::toString).contains("5.7.1");
                assertThat(r.reply()).map(SmtpReply::summary).contains("550 5.7.1 go away too");
                assertThat(r.remoteMta()).hasValueSatisfying(m -> assertThat(m).startsWith("mx.agent.test["));
                assertThat(r.detail()).startsWith("every MX host of agent.test refused this host's EHLO/HELO for good; the last, "
                        + "mx.agent.test[").endsWith(" said 550 5.7.1 go away too");
            });
            assertThat(mx.commands("HELO")).hasSize(1);
            assertThat(mx.commands("MAIL")).isEmpty();
            // not postponed: it is not down, and the next message is refused (and fails) at once too, not passed over
            assertThat(table.snapshot()).isEmpty();
        }
        // no enhanced code: the class's own, 5.0.0
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(),
                c -> c.startsWith("EHLO") || c.startsWith("HELO") ? "554 not you" : null)) {
            assertThat(deliver(agent(mx.address().getPort(), hosts()))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                assertThat(r.status()).map(Object::toString).contains("5.0.0");
            });
        }
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(),
                c -> c.startsWith("EHLO") ? "550 5.7.1 go away" : c.startsWith("HELO") ? "451 4.7.1 later" : null)) {
            assertThat(deliver(agent(mx.address().getPort(), hosts()))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
        }
        // a 5yz greeting sends the client on and defers (RFC 5321 §3.1; Postfix's smtp_skip_5xx_greeting)
        try (FakeSmtpServer mx = FakeSmtpServer.start("554 5.7.1 no SMTP service here", List.of(), c -> null)) {
            assertThat(deliver(agent(mx.address().getPort(), hosts()))).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
        }
    }

    /** One MX host refuses HELO with 5yz and the other does not answer: the other may take it later, so the mail waits. */
    @Test
    void aHeloRefusalWithAnotherHostDownDefers() throws Exception {
        try (MxdDnsServer two = MxdDnsServer.start(List.of(twoHostZone("127.0.0.1", "127.0.0.2")), new InetSocketAddress("127.0.0.1", 0));
             FakeSmtpServer refusing = FakeSmtpServer.start("220 mx.two.test ESMTP", List.of(),
                     c -> c.startsWith("EHLO") || c.startsWith("HELO") ? "550 5.7.1 go away" : null)) {
            RemoteDeliveryAgent agent = twoHostAgent(two, hosts(), 5, refusing.address().getPort());
            assertThat(deliverTo(agent, Mailbox.parse("a@x.test"), Mailbox.parse("user@two.test"), "two.test")).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
            assertThat(refusing.commands("HELO")).hasSize(1);
        }
    }

    private static RemoteDeliveryAgent twoHostAgent(MxdDnsServer zone, HostStatusTable hosts, int maxAddresses, int port) {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(zone.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        return new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, maxAddresses, port), hosts,
                ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))),
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), NextHop.Routing.BY_MX);
    }

    private Path twoHostZone(String first, String second) throws Exception {
        return Files.writeString(dir.resolve("two.test.zone"), String.join("\n",
                "$ORIGIN two.test.", "$TTL 300", "@ IN SOA ns.two.test. h.two.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX 10 mx", "@ MX 20 mx2", "mx IN A " + first, "mx2 IN A " + second, "") + "\n");
    }

    /**
     * The HELO refusal fails the mail only when no host was left untried: a stop cutting the attempt short after the
     * first host's refusal, or a host passed over (a failure inside its retry time) that the address limit kept from a
     * last-resort try, leaves it deferred.
     */
    @Test
    void aHeloRefusalWithAHostLeftUntriedDefers() throws Exception {
        java.util.concurrent.atomic.AtomicReference<RemoteDeliveryAgent> agentRef = new java.util.concurrent.atomic.AtomicReference<>();
        try (MxdDnsServer zone = MxdDnsServer.start(List.of(twoHostZone("127.0.0.1", "127.0.0.2")), new InetSocketAddress("127.0.0.1", 0));
             FakeSmtpServer refusing = FakeSmtpServer.start("220 mx.two.test ESMTP", List.of(), c -> {
                 if (c.startsWith("HELO")) {
                     agentRef.get().cutShort(); // a stop's drain runs out while the first host refuses HELO
                 }
                 return c.startsWith("EHLO") || c.startsWith("HELO") ? "550 5.7.1 go away" : null;
             })) {
            RemoteDeliveryAgent agent = twoHostAgent(zone, hosts(), 5, refusing.address().getPort());
            agentRef.set(agent);
            assertThat(deliverTo(agent, Mailbox.parse("a@x.test"), Mailbox.parse("user@two.test"), "two.test")).singleElement()
                    .satisfies(r -> assertThat(r.state()).as("mx2 was never tried: %s", r.detail()).isEqualTo(DeliveryState.DEFERRED));
        }
        try (MxdDnsServer zone = MxdDnsServer.start(List.of(twoHostZone("127.0.0.2", "127.0.0.1")), new InetSocketAddress("127.0.0.1", 0));
             FakeSmtpServer refusing = FakeSmtpServer.start("220 mx.two.test ESMTP", List.of(),
                     c -> c.startsWith("EHLO") || c.startsWith("HELO") ? "550 5.7.1 go away" : null)) {
            int port = refusing.address().getPort();
            HostStatusTable hosts = hosts();
            hosts.failed(new MxRoute("mx.two.test", 10, java.net.InetAddress.getByName("127.0.0.2"), port), "was down");
            // one address an attempt: mx2 (refusing) is tried, mx (passed over) finds no room for a last-resort try
            assertThat(deliverTo(twoHostAgent(zone, hosts, 1, port), Mailbox.parse("a@x.test"), Mailbox.parse("user@two.test"),
                    "two.test")).singleElement().satisfies(r -> assertThat(r.state()).as("%s", r.detail()).isEqualTo(DeliveryState.DEFERRED));
            assertThat(refusing.commands("HELO")).hasSize(1);
        }
    }

    /**
     * The last attempt before a bounce tries a host the host status table passes over (its failure was inside the retry
     * time): it may be back, as a primary MX that a backup's held mail waits for. An ordinary attempt does not connect.
     */
    @Test
    void theLastAttemptTriesAHostPassedOver() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of(), c -> null)) {
            HostStatusTable hosts = hosts();
            hosts.failed(new MxRoute("mx.agent.test", 10, java.net.InetAddress.getByName("127.0.0.1"), mx.address().getPort()),
                    "was down");
            RemoteDeliveryAgent agent = agent(mx.address().getPort(), hosts);
            assertThat(deliver(agent)).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(r.detail()).contains("passed over");
            });
            assertThat(mx.connections()).isZero();

            Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            RecipientStatus pending = new RecipientStatus(new Recipient(Mailbox.parse("user@agent.test"), RcptParameters.NONE,
                    new Route.Relay("agent.test")), DeliveryState.PENDING, "", Instant.now());
            Envelope e = new Envelope("Q5", Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE, List.of(pending),
                    new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
            assertThat(agent.deliverLast(e, text, List.of(pending))).singleElement().isInstanceOf(DeliveryResult.Delivered.class);
            assertThat(mx.connections()).isEqualTo(1);
        }
    }

    @Test
    void rcptRepliesDecideEachRecipient() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("RCPT") ? "550 5.1.1 no such user" : null)) {
            assertThat(deliver(agent(mx.address().getPort(), hosts()))).singleElement().satisfies(r -> {
                assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                assertThat(r.status()).contains(EnhancedStatus.BAD_MAILBOX);
                assertThat(r.reply()).map(SmtpReply::summary).contains("550 5.1.1 no such user");
            });
        }
    }

    /**
     * An SMTPUTF8 message to a host without SMTPUTF8 that hangs up at MAIL: the non-ASCII
     * recipient, which could never go there, fails with 5.6.7 now (a DSN at once, not 4.4.7 at
     * expiry); its ASCII co-recipient is deferred for the retry, after the next address.
     */
    @Test
    void aRecipientLeftOutForWantOfSmtputf8FailsWith567EvenWhenTheSessionBreaks() throws Exception {
        try (FakeSmtpServer mx = FakeSmtpServer.start("220 mx.agent.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("MAIL") ? FakeSmtpServer.HANG_UP : null)) {
            Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            MailParameters utf8 = new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.SEVEN_BIT, true,
                    Optional.empty(), Optional.empty());
            List<RecipientStatus> pending = List.of("j\u00fcrgen@agent.test", "user@agent.test").stream()
                    .map(a -> new RecipientStatus(new Recipient(Mailbox.parse(a), RcptParameters.NONE, new Route.Relay("agent.test")),
                            DeliveryState.PENDING, "", Instant.now())).toList();
            Envelope e = new Envelope("Q1", Optional.of(Mailbox.parse("a@x.test")), utf8, pending,
                    new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
            List<DeliveryResult> results = agent(mx.address().getPort(), hosts()).deliver(e, text, pending);
            assertThat(results.get(0)).isInstanceOf(DeliveryResult.Failed.class);
            List<RecipientStatus> out = after(pending, results);
            assertThat(out).hasSize(2);
            assertThat(out.get(0).state()).isEqualTo(DeliveryState.FAILED);
            assertThat(out.get(0).status()).contains(EnhancedStatus.NEEDS_SMTPUTF8);
            assertThat(out.get(0).reply()).as("mxd decided it, no server").isEmpty();
            assertThat(out.get(0).detail()).contains("does not offer SMTPUTF8");
            assertThat(out.get(1).state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(out.get(1).status()).contains(EnhancedStatus.NO_ANSWER);
            assertThat(out.get(1).detail()).contains("could not deliver to any MX host");
            assertThat(mx.commands("MAIL")).isNotEmpty();
            assertThat(mx.messages).isEmpty();
        }
    }
}
