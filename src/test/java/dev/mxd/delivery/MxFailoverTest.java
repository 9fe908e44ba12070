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
import dev.mxd.queue.Envelope;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.client.ClientSettings;
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
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A recipient the better MX host defers (4yz after the greeting: to MAIL, RCPT, DATA or the final
 * dot, or a connection lost before the final dot went out) goes to the next MX host in the same attempt,
 * as Postfix does (a primary that greylists, a backup that takes the mail); one the better host
 * accepted or refused for good does not, nor one that may have been delivered already. Two scripted
 * MX hosts, mx1 at 127.0.0.1 (preference 10) and mx2 at 127.0.0.2 (20), on one port, found through
 * a real zone.
 */
class MxFailoverTest {

    private Path dir;
    private MxdDnsServer dns;
    private FakeSmtpServer mx1;
    private FakeSmtpServer mx2;

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-failover");
        Path zone = Files.writeString(dir.resolve("pair.test.zone"), String.join("\n",
                "$ORIGIN pair.test.", "$TTL 300", "@ IN SOA ns.pair.test. h.pair.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX 10 mx1", "@ MX 20 mx2", "mx1 IN A 127.0.0.1", "mx2 IN A 127.0.0.2", "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (FakeSmtpServer s : new FakeSmtpServer[] {mx1, mx2}) {
            if (s != null) {
                s.close();
            }
        }
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /** Starts the two hosts: mx1 answers as {@code primary} says, mx2 takes everything. */
    private void hosts(Function<String, String> primary) throws Exception {
        mx1 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", 0), 10, "220 mx1.pair.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                primary);
        mx2 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", mx1.address().getPort()), 10, "220 mx2.pair.test ESMTP",
                List.of("ENHANCEDSTATUSCODES"), c -> null);
    }

    /** One attempt for {@code recipients}, as the queue manager makes it; returns their statuses after it. */
    private List<RecipientStatus> attempt(String... recipients) throws Exception {
        return attempt(MailParameters.NONE, recipients);
    }

    private List<RecipientStatus> attempt(MailParameters parameters, String... recipients) throws Exception {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        HostStatusTable table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        RemoteDeliveryAgent agent = new RemoteDeliveryAgent(resolver, new RouteSelector(table, 5, mx1.address().getPort()), table,
                ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))),
                new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(), NextHop.Routing.BY_MX);
        return attempt(agent, parameters, recipients);
    }

    private List<RecipientStatus> attempt(RemoteDeliveryAgent agent, MailParameters parameters, String... recipients) throws Exception {
        Path text = Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
        List<RecipientStatus> pending = List.of(recipients).stream()
                .map(a -> new RecipientStatus(new Recipient(Mailbox.parse(a), RcptParameters.NONE, new Route.Relay("pair.test")),
                        DeliveryState.PENDING, "", Instant.now())).toList();
        Envelope e = new Envelope("Q1", Optional.of(Mailbox.parse("a@x.test")), parameters, pending,
                new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
        List<DeliveryResult> results = agent.deliver(e, text, pending);
        assertThat(results).hasSameSizeAs(pending);
        Instant now = Instant.now();
        return java.util.stream.IntStream.range(0, pending.size()).mapToObj(i -> pending.get(i).after(results.get(i), now)).toList();
    }

    /**
     * A host that answers EHLO with this host's own name (mxd.test here) on the port mxd takes mail on
     * is this host behind a NAT or port forward that no address list shows (Postfix: "loops back to
     * myself"): nothing is sent to it, nor to any host not better than it (RFC 5321 §5.1: the backup
     * would relay it back), and the mail waits (4.4.6). A better host still takes it. On another port
     * (a relay route to another MTA on this machine, which may carry the machine's name) there is no loop.
     */
    @Test
    void aHostThatAnswersEhloWithThisHostsOwnNameIsNotSentToNorAnyWorseOne() throws Exception {
        hosts(c -> c.startsWith("EHLO") ? "250-MXD.test\r\n250 ENHANCEDSTATUSCODES" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(r.status()).hasValueSatisfying(st -> assertThat(st).hasToString("4.4.6"));
            assertThat(r.detail()).contains("loop back to myself");
        });
        assertThat(mx1.commands("MAIL")).isEmpty();
        assertThat(mx2.commands("EHLO")).as("the backup is not better than this host: not even connected to").isEmpty();
        // The next attempts (one host status table across them, as in a node) find the loop again, never the backup.
        HostStatusTable shared = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        RemoteDeliveryAgent node = new RemoteDeliveryAgent(new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))),
                MxPolicy.defaults().withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY)), new RouteSelector(shared, 5,
                mx1.address().getPort()), shared, ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(
                Duration.ofSeconds(5))), new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(),
                NextHop.Routing.BY_MX);
        for (int attempt = 0; attempt < 3; attempt++) {
            assertThat(attempt(node, MailParameters.NONE, "user@pair.test")).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
        }
        assertThat(mx2.commands("EHLO")).as("later attempts: the backup is still not used").isEmpty();
        stop();
        zone();
        mx1 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", 0), 10, "220 mx1.pair.test ESMTP", List.of(), c -> null);
        mx2 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", mx1.address().getPort()), 10, "220 mx2.pair.test ESMTP",
                List.of(), c -> c.startsWith("EHLO") ? "250 mxd.test" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
        assertThat(mx1.messages).hasSize(1);

        // Another MTA on this machine behind a relay route on another port: it may greet with the machine's name.
        HostStatusTable table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
        FakeSmtpServer local = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", 0), 10, "220 mxd.test ESMTP", List.of(),
                c -> c.startsWith("EHLO") ? "250 mxd.test" : null);
        java.net.InetAddress loopback = java.net.InetAddress.getByName("127.0.0.1");
        try {
            RemoteDeliveryAgent relaying = new RemoteDeliveryAgent(new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))),
                    MxPolicy.defaults()), new RouteSelector(table, 5, 25), table,
                    ClientSettings.defaults("mxd.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))),
                    new ConnectionCache(Duration.ofSeconds(2), Duration.ofMinutes(5), 100, 4), Clock.systemUTC(),
                    d -> Optional.of(new NextHop.Host("127.0.0.1", Optional.of(loopback),
                            java.util.OptionalInt.of(local.address().getPort()))));
            assertThat(attempt(relaying, MailParameters.NONE, "user@pair.test")).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(local.messages).hasSize(1);
        } finally {
            local.close();
        }
    }

    @Test
    void aRecipientThePrimaryGreylistsIsDeliveredByTheBackupInTheSameAttempt() throws Exception {
        hosts(c -> c.startsWith("RCPT") ? "450 4.2.0 greylisted, try again later" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED);
            assertThat(r.detail()).contains("mx2.pair.test");
        });
        assertThat(mx1.messages).isEmpty();
        assertThat(mx2.messages).hasSize(1);
    }

    @Test
    void aFourXxOrA421ToMailOrAFourXxAtTheFinalDotMovesOnToTheBackup() throws Exception {
        for (String answer : List.of("451 4.3.0 queue file write error", "421 4.7.0 too busy, closing" + FakeSmtpServer.HANG_UP)) {
            hosts(c -> c.startsWith("MAIL") ? answer : null);
            assertThat(attempt("user@pair.test")).as(answer).singleElement()
                    .satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
            assertThat(mx2.messages).as(answer).hasSize(1);
            stop();
            zone();
        }
        hosts(c -> c.equals(".") ? "452 4.3.1 insufficient system storage" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED));
        assertThat(mx2.messages).hasSize(1);
    }

    @Test
    void onlyTheDeferredRecipientsGoToTheBackupAndEachKeepsItsOwnOutcome() throws Exception {
        hosts(c -> c.contains("<later@") ? "450 4.2.1 mailbox busy" : c.contains("<gone@") ? "550 5.1.1 no such user" : null);
        List<RecipientStatus> out = attempt("now@pair.test", "later@pair.test", "gone@pair.test");
        assertThat(out).extracting(RecipientStatus::state)
                .containsExactly(DeliveryState.DELIVERED, DeliveryState.DELIVERED, DeliveryState.FAILED);
        assertThat(out.get(0).detail()).contains("mx1.pair.test");
        assertThat(out.get(1).detail()).contains("mx2.pair.test");
        assertThat(mx2.commands("RCPT")).singleElement().satisfies(c -> assertThat(c).contains("<later@pair.test>"));
        assertThat(mx1.messages).hasSize(1);
        assertThat(mx2.messages).hasSize(1);
    }

    @Test
    void whenEveryHostDefersTheRecipientKeepsTheLastServersReply() throws Exception {
        mx1 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", 0), 10, "220 mx1.pair.test ESMTP", List.of("ENHANCEDSTATUSCODES"),
                c -> c.startsWith("RCPT") ? "450 4.2.0 greylisted by mx1" : null);
        mx2 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", mx1.address().getPort()), 10, "220 mx2.pair.test ESMTP",
                List.of("ENHANCEDSTATUSCODES"), c -> c.startsWith("RCPT") ? "450 4.2.0 greylisted by mx2" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(r.detail()).contains("greylisted by mx2");
        });
        assertThat(mx1.commands("RCPT")).hasSize(1);
        assertThat(mx2.commands("RCPT")).hasSize(1);
    }

    @Test
    void aPermanentRefusalOrAMessageThatMayHaveBeenDeliveredIsNotSentToTheBackup() throws Exception {
        hosts(c -> c.startsWith("RCPT") ? "550 5.1.1 no such user" : null);
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.FAILED));
        assertThat(mx2.commands("EHLO")).isEmpty();
        stop();
        zone();
        hosts(c -> c.equals(".") ? FakeSmtpServer.HANG_UP : null); // the content went out whole, no reply: maybe delivered
        assertThat(attempt("user@pair.test")).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED));
        assertThat(mx1.messages).hasSize(1);
        assertThat(mx2.commands("EHLO")).as("a duplicate is worse than a delay").isEmpty();
    }

    /**
     * The primary defers; the backup could never take the recipient (it has no SMTPUTF8, and the
     * address is not ASCII): mxd's own refusal there does not bounce what the primary may take later.
     */
    @Test
    void aLaterAddressThatCouldNeverTakeTheRecipientDoesNotTurnThePrimarysDeferralIntoABounce() throws Exception {
        mx1 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", 0), 10, "220 mx1.pair.test ESMTP",
                List.of("ENHANCEDSTATUSCODES", "SMTPUTF8", "8BITMIME"), c -> c.startsWith("RCPT") ? "450 4.2.0 greylisted by mx1" : null);
        mx2 = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", mx1.address().getPort()), 10, "220 mx2.pair.test ESMTP",
                List.of("ENHANCEDSTATUSCODES"), c -> null);
        MailParameters utf8 = new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.EIGHT_BIT_MIME, true,
                Optional.empty(), Optional.empty());
        assertThat(attempt(utf8, "j\u00fcrgen@pair.test")).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(r.detail()).contains("greylisted by mx1");
        });
        assertThat(mx2.messages).isEmpty();
    }

    /** A relay host on another port than this server's listeners is not this server, whatever its address. */
    @Test
    void aRelayHostOnAnotherPortWithThisHostsAddressIsNotALoop() throws Exception {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY).withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.0.1"))));
        NextHop other = new NextHop.Host("mx1.pair.test", Optional.empty(), java.util.OptionalInt.of(10025));
        NextHop same = new NextHop.Host("mx1.pair.test", Optional.empty(), java.util.OptionalInt.empty());
        assertThat(RemoteDeliveryAgent.plan(resolver, d -> Optional.of(other), 25, "pair.test").outcome())
                .isInstanceOf(dev.mxd.dns.MxOutcome.Routes.class);
        assertThat(RemoteDeliveryAgent.plan(resolver, d -> Optional.of(same), 25, "pair.test").outcome())
                .isInstanceOf(dev.mxd.dns.MxOutcome.LoopsToSelf.class);
        assertThat(RemoteDeliveryAgent.plan(resolver, NextHop.Routing.BY_MX, 25, "pair.test").outcome())
                .as("mx1 is this host by address: only better exchanges, and there is none").isInstanceOf(dev.mxd.dns.MxOutcome.LoopsToSelf.class);
    }

    /**
     * The same by name: a content filter or a second MTA on this machine at [localhost]:10025, or
     * this host's own name on another port (directly or by its MX). Before, the name alone made
     * it a loop and every relayed message was deferred until it expired.
     */
    @Test
    void aRelayHostOnAnotherPortWithThisHostsNameIsNotALoop() throws Exception {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), MxPolicy.defaults()
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY).withLocalNames(List.of("mx1.pair.test", "localhost")));
        for (NextHop other : List.of(new NextHop.Host("mx1.pair.test", Optional.empty(), java.util.OptionalInt.of(10025)),
                new NextHop.Host("localhost", Optional.empty(), java.util.OptionalInt.of(10025)),
                new NextHop.ByMx("pair.test", java.util.OptionalInt.of(10025)),
                new NextHop.ByMx("localhost", java.util.OptionalInt.of(10025)))) {
            assertThat(RemoteDeliveryAgent.plan(resolver, d -> Optional.of(other), 25, "pair.test").outcome()).as(other.toString())
                    .isInstanceOf(dev.mxd.dns.MxOutcome.Routes.class);
        }
        NextHop same = new NextHop.Host("localhost", Optional.empty(), java.util.OptionalInt.empty());
        assertThat(RemoteDeliveryAgent.plan(resolver, d -> Optional.of(same), 25, "pair.test").outcome())
                .as("this host's name on its own port").isInstanceOf(dev.mxd.dns.MxOutcome.LoopsToSelf.class);
        // Where mxd itself listens on that other port (listen.smtp 127.0.0.1:10025), the hop there is mxd: it loops (mail went
        // round and round, relayed to itself from a trusted loopback client, until max-hops bounced it).
        MxResolver listening = resolver.withListenersOnOtherPorts(java.util.Map.of(10025, java.util.Set.of(java.net.InetAddress.getByName("127.0.0.1"))));
        NextHop otherPort = new NextHop.Host("localhost", Optional.empty(), java.util.OptionalInt.of(10025));
        assertThat(RemoteDeliveryAgent.plan(listening, d -> Optional.of(otherPort), 25, "pair.test").outcome())
                .as("[localhost]:10025, where mxd listens").isInstanceOf(dev.mxd.dns.MxOutcome.LoopsToSelf.class);
        NextHop filter = new NextHop.Host("localhost", Optional.empty(), java.util.OptionalInt.of(10026));
        assertThat(RemoteDeliveryAgent.plan(listening, d -> Optional.of(filter), 25, "pair.test").outcome())
                .as("[localhost]:10026, a content filter").isInstanceOf(dev.mxd.dns.MxOutcome.Routes.class);
        assertThat(RemoteDeliveryAgent.plan(resolver.onOtherPort(10025), NextHop.Routing.BY_MX, 25, "localhost").outcome())
                .as("localhost without DNS (RFC 6761): its loopback address").isInstanceOfSatisfying(dev.mxd.dns.MxOutcome.Routes.class,
                        r -> assertThat(r.hosts().get(0).addresses()).extracting(java.net.InetAddress::getHostAddress).containsExactly("127.0.0.1"));
    }
}
