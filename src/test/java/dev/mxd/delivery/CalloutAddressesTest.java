package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.RecipientVerifier.Verdict;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A backup MX asking its primary whether a recipient exists (RCPT callout), against scripted servers:
 * a first address that never greets leaves time for the next one (it took the whole budget, and every
 * recipient got 450), and a domain written in U-labels is asked in A-labels of a primary without
 * SMTPUTF8, as delivery sends it (it was "cannot verify" for every such recipient).
 */
class CalloutAddressesTest {

    private Path dir;
    private MxdDnsServer dns;
    private int port;

    @BeforeEach
    void zone() throws Exception {
        dir = Files.createTempDirectory("mxd-callout");
        port = FreePort.tcpAndUdp("127.0.0.1");
        Path zone = Files.writeString(dir.resolve("xn--bcher-kva.test.zone"), String.join("\n",
                "$ORIGIN xn--bcher-kva.test.", "$TTL 300", "@ IN SOA ns h ( 1 3600 600 86400 60 )", "@ IN NS ns", "ns IN A 127.0.0.53",
                "@ MX 10 slow", "@ MX 20 good", "slow IN A 127.0.0.1", "good IN A 127.0.0.2", "") + "\n");
        Path nat = Files.writeString(dir.resolve("nat.test.zone"), String.join("\n",
                "$ORIGIN nat.test.", "$TTL 300", "@ IN SOA ns h ( 1 3600 600 86400 60 )", "@ IN NS ns", "ns IN A 127.0.0.53",
                "@ MX 10 primary", "@ MX 20 me", "@ MX 30 worse", "primary IN A 127.0.0.3", "me IN A 127.0.0.4",
                "worse IN A 127.0.0.5", "") + "\n");
        dns = MxdDnsServer.start(List.of(zone, nat), new InetSocketAddress("127.0.0.1", 0));
    }

    /** A backup node named backup.test asking the zone's MX hosts on {@code port}, over IPv4. */
    private RecipientCallout callout() {
        return callout(new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system()));
    }

    /** The same, sharing delivery's host status {@code hosts}. */
    private RecipientCallout callout(HostStatusTable hosts) {
        return callout(hosts, MxPolicy.defaults());
    }

    private RecipientCallout callout(HostStatusTable hosts, MxPolicy policy) {
        return callout(hosts, policy, NextHop.Routing.BY_MX);
    }

    private RecipientCallout callout(HostStatusTable hosts, MxPolicy policy, NextHop.Routing routing) {
        return callout(hosts, policy, routing, new VerificationCache(100, Clock.systemUTC()));
    }

    private RecipientCallout callout(HostStatusTable hosts, MxPolicy policy, NextHop.Routing routing, VerificationCache cache) {
        MxResolver resolver = new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), policy
                .withAddressOrder(dev.mxd.dns.AddressOrder.IPV4_ONLY));
        return new RecipientCallout(resolver, new RouteSelector(hosts, 5, port), routing,
                ClientSettings.defaults("backup.test"), cache, Duration.ofSeconds(6), 2);
    }

    /**
     * A recipient the primary said exists (kept for days), after the domain's MX records changed to make this node its
     * best MX: delivery would bounce the mail (5.4.6), so the kept yes no longer lets it in; it was 250 and then a bounce
     * to a sender nobody checked. While the domain still has a better MX, the kept yes stands and nobody is asked.
     */
    @Test
    void aKeptYesDoesNotLetInMailThatWouldLoopBackHere() throws Exception {
        try (FakeSmtpServer primary = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.3", port), 4, "220 primary.test ESMTP",
                List.of("PIPELINING"), c -> null)) {
            VerificationCache cache = new VerificationCache(100, Clock.systemUTC());
            cache.put("alice@nat.test", new Verdict.Exists(), Duration.ofDays(7), Duration.ofHours(3));
            HostStatusTable hosts = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
            RecipientCallout looping = callout(hosts, MxPolicy.defaults().withLocalNames(List.of("primary.nat.test")),
                    NextHop.Routing.BY_MX, cache);
            try {
                Verdict v = looping.verify(new Mailbox("alice", "nat.test"), "nat.test", Duration.ofDays(7), Duration.ofHours(3))
                        .toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOfSatisfying(Verdict.Undeliverable.class,
                        u -> assertThat(u.status().toString()).isEqualTo("5.4.6"));
            } finally {
                looping.close();
            }
            RecipientCallout routed = callout(hosts, MxPolicy.defaults(), NextHop.Routing.BY_MX, cache);
            try {
                Verdict v = routed.verify(new Mailbox("alice", "nat.test"), "nat.test", Duration.ofDays(7), Duration.ofHours(3))
                        .toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOf(Verdict.Exists.class);
                assertThat(routed.probes()).isZero();
                assertThat(primary.connections()).isZero();
            } finally {
                routed.close();
            }
        }
    }

    @AfterEach
    void stop() {
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /**
     * The primary is down; the next MX is this backup itself behind a NAT (it answers EHLO with this node's
     * name); a worse MX accepts every recipient. Delivery would stop at this node (RFC 5321 §5.1), and so must
     * the question: the worse MX's yes (kept for days) let every made-up recipient in, its no refused real ones.
     */
    @Test
    void aWorseMxThanThisNodeIsNeverAsked() throws Exception {
        try (FakeSmtpServer me = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.4", port), 4, "220 backup.test ESMTP",
                     List.of("PIPELINING"), c -> c.startsWith("EHLO") ? "250 backup.test" : null);
             FakeSmtpServer worse = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.5", port), 4, "220 worse.test ESMTP",
                     List.of("PIPELINING"), c -> null)) {
            RecipientCallout callout = callout();
            try {
                Verdict v = callout.verify(new Mailbox("made-up", "nat.test"), "nat.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOf(Verdict.Unknown.class);
                assertThat(me.connections()).isEqualTo(1);
                assertThat(worse.connections()).as("the MX worse than this node").isZero();
            } finally {
                callout.close();
            }
        }
    }

    /**
     * The domain's best MX is this node by name (a backup domain whose MX records were changed to make this host the
     * primary): delivery bounces such mail at once (5.4.6, RFC 5321 §5.1), so the question gets 550 with that status, not
     * 450 "cannot verify now", which had senders retry for days before the same bounce. Nobody is asked.
     */
    @Test
    void aDomainWhoseMailLoopsBackHereIsUndeliverableNotUnknown() throws Exception {
        try (FakeSmtpServer primary = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.3", port), 4, "220 primary.test ESMTP",
                List.of("PIPELINING"), c -> null)) {
            RecipientCallout callout = callout(new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100,
                    InstantSource.system()), MxPolicy.defaults().withLocalNames(List.of("primary.nat.test")));
            try {
                Verdict v = callout.verify(new Mailbox("anyone", "nat.test"), "nat.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOfSatisfying(Verdict.Undeliverable.class, u -> {
                    assertThat(u.status().toString()).isEqualTo("5.4.6");
                    assertThat(u.reason()).contains("loops back to myself");
                });
                assertThat(primary.connections()).isZero();
            } finally {
                callout.close();
            }
            // The same failure of a relay route (routes: {other.test: nat.test}) is the operator's to mend: delivery holds
            // the mail, so the question is not answered 550 either
            RecipientCallout routed = callout(new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100,
                    InstantSource.system()), MxPolicy.defaults().withLocalNames(List.of("primary.nat.test")),
                    domain -> Optional.of(new NextHop.ByMx("nat.test", java.util.OptionalInt.empty())));
            try {
                Verdict v = routed.verify(new Mailbox("anyone", "other.test"), "other.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOf(Verdict.Unknown.class);
            } finally {
                routed.close();
            }
        }
    }

    /**
     * An MX address delivery passes over after a failure (inside its retry time) is not asked: each RCPT waited for a
     * dead primary's connect timeout, and a handful of clients filled the verification threads, while a backup's
     * primary was down. With every better address so, the answer (cannot tell: 450) comes at once.
     */
    @Test
    void anAddressInItsRetryTimeIsNotAskedAndWithNoneLeftTheAnswerComesAtOnce() throws Exception {
        try (FakeSmtpServer slow = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 4, FakeSmtpServer.SILENCE,
                     List.of(), c -> null);
             FakeSmtpServer good = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", port), 4, "220 good.test ESMTP",
                     List.of("PIPELINING"), c -> null)) {
            HostStatusTable hosts = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, InstantSource.system());
            hosts.failed(new MxRoute("slow.xn--bcher-kva.test", 10, java.net.InetAddress.getByName("127.0.0.1"), port), "timed out");
            RecipientCallout callout = callout(hosts);
            try {
                Verdict v = callout.verify(new Mailbox("anna", "xn--bcher-kva.test"), "xn--bcher-kva.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOf(Verdict.Exists.class);
                assertThat(slow.connections()).as("the address in its retry time").isZero();
                hosts.failed(new MxRoute("good.xn--bcher-kva.test", 20, java.net.InetAddress.getByName("127.0.0.2"), port), "refused");
                Verdict none = callout.verify(new Mailbox("bert", "xn--bcher-kva.test"), "xn--bcher-kva.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(none).isInstanceOfSatisfying(Verdict.Unknown.class,
                        u -> assertThat(u.toString()).contains("failed recently"));
                assertThat(good.connections()).isEqualTo(1);
                assertThat(slow.connections()).isZero();
            } finally {
                callout.close();
            }
        }
    }

    @Test
    void aSilentFirstAddressLeavesTimeForTheNextAndTheDomainGoesInALabels() throws Exception {
        try (FakeSmtpServer slow = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 4, FakeSmtpServer.SILENCE,
                     List.of(), c -> null);
             FakeSmtpServer good = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.2", port), 4, "220 good.test ESMTP",
                     List.of("PIPELINING"), c -> null)) {
            RecipientCallout callout = callout();
            try {
                Verdict v = callout.verify(new Mailbox("anna", "b\u00fccher.test"), "xn--bcher-kva.test", Duration.ofHours(1),
                        Duration.ofMinutes(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v).isInstanceOf(Verdict.Exists.class);
                assertThat(good.commands("RCPT")).singleElement().asString().startsWith("RCPT TO:<anna@xn--bcher-kva.test>");
                assertThat(slow.connections()).isEqualTo(1);
            } finally {
                callout.close();
            }
        }
    }
}
