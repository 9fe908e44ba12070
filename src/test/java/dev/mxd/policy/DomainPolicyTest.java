package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Route;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** RFC 5321 §4.5.1 postmaster rules of {@link DomainPolicy}, on configurations alone. */
class DomainPolicyTest {

    private static final ClientInfo STRANGER = new ClientInfo(new InetSocketAddress("192.0.2.9", 4000), "x.test", true, false);

    private static DomainPolicy policy(String yaml) throws Exception {
        return new DomainPolicy(ConfigLoader.parse("trusted-networks: []\n" + yaml, Path.of("mxd.yaml")));
    }

    @Test
    void barePostmasterIsThePostmasterOfTheFirstLocalDomain() throws Exception {
        DomainPolicy p = policy("domains:\n  relay.test:\n    role: backup\n"
                + "  first.test:\n    role: local\n    mailboxes: [alice]\n    aliases: {postmaster: alice}\n"
                + "  second.test:\n    role: local\n    mailboxes: [postmaster]\n");
        assertThat(p.postmaster()).contains(new Mailbox("postmaster", "first.test"));
        assertThat(p.decide(p.postmaster().orElseThrow(), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("first.test", List.of("alice"))));
        assertThat(p.decide(Mailbox.parse("PostMaster@Second.test"), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("second.test", List.of("postmaster"))));
    }

    @Test
    void postmasterOfABackupDomainIsAcceptedEvenWhenOnlyListedMailboxesAre() throws Exception {
        DomainPolicy p = policy("domains:\n  relay.test:\n    role: backup\n    mailboxes: [carol]\n");
        assertThat(p.decide(Mailbox.parse("postmaster@relay.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        assertThat(p.decide(Mailbox.parse("dave@relay.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
    }

    /**
     * A local part that routes on by itself (percent hack, a quoted @, a bang path), for a backup domain: refused
     * from a client outside trusted-networks, as Postfix's allow_untrusted_routing = no does, since a primary that
     * honours it would make the pair an open relay; taken from a trusted client, and at a domain delivered here.
     */
    @Test
    void senderSpecifiedRoutingIsNotRelayedForUntrustedClients() throws Exception {
        String yaml = "domains:\n  relay.test:\n    role: backup\n  own.test:\n    role: local\n    mailboxes: [bob]\n    catch-all: bob\n";
        DomainPolicy p = policy(yaml);
        for (String rcpt : List.of("user%victim.test@relay.test", "\"user@victim.test\"@relay.test", "victim.test!user@relay.test")) {
            assertThat(p.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isInstanceOf(RcptDecision.Refuse.class)
                    .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("554 5.7.1")
                            .contains("Relay access denied"));
            assertThat(p.decideForClient(Mailbox.parse(rcpt), STRANGER).toCompletableFuture().join()).as(rcpt)
                    .isInstanceOf(RcptDecision.Refuse.class);
        }
        assertThat(p.decide(Mailbox.parse("user@relay.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        // the same in compatibility forms (fullwidth ％ ＠ ！, small ﹪): what a primary that normalises local parts sees
        for (String rcpt : List.of("user\uFF05victim.test@relay.test", "user\uFF20victim.test@relay.test",
                "victim.test\uFF01user@relay.test", "user\uFE6Avictim.test@relay.test")) {
            assertThat(p.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isInstanceOf(RcptDecision.Refuse.class);
        }
        assertThat(p.decide(Mailbox.parse("a%b@own.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Local("own.test", List.of("bob"))));

        DomainPolicy trusting = new DomainPolicy(ConfigLoader.parse("trusted-networks: [192.0.2.0/24]\n" + yaml, Path.of("mxd.yaml")));
        assertThat(trusting.decide(Mailbox.parse("user%victim.test@relay.test"), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
    }

    /** RFC 5321 §4.5.1 asks a relaying server for <Postmaster> too: without a local domain it is this host's. */
    @Test
    void withoutALocalDomainBarePostmasterIsTheHostsOwn() throws Exception {
        DomainPolicy p = policy("hostname: mx2.example.net\ndomains:\n  relay.test:\n    role: backup\n");
        assertThat(p.postmaster()).contains(new Mailbox("postmaster", "mx2.example.net"));
        RcptDecision hosts = new RcptDecision.Accept(new Route.Local("mx2.example.net", List.of("postmaster")));
        assertThat(p.decide(p.postmaster().orElseThrow(), STRANGER)).isEqualTo(hosts);
        assertThat(p.decide(Mailbox.parse("PostMaster@MX2.example.net"), STRANGER)).isEqualTo(hosts);
        // nothing else of the host name, and no other domain's postmaster, is taken for it
        assertThat(p.decide(Mailbox.parse("root@mx2.example.net"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(p.decide(Mailbox.parse("postmaster@elsewhere.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(p.decide(Mailbox.parse("postmaster@relay.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        // with a local domain, postmaster at the host name is that domain's postmaster (as <Postmaster> is); the host
        // name is still no mail domain of its own
        DomainPolicy local = policy("hostname: mx2.example.net\ndomains:\n  own.test:\n    role: local\n    mailboxes: [pm]\n"
                + "    aliases: {postmaster: pm}\n");
        RcptDecision owns = new RcptDecision.Accept(new Route.Local("own.test", List.of("pm")));
        assertThat(local.decide(Mailbox.parse("postmaster@mx2.example.net"), STRANGER)).isEqualTo(owns);
        assertThat(local.routeLocalMail(Mailbox.parse("postmaster@mx2.example.net"))).contains(new Route.Local("own.test", List.of("pm")));
        assertThat(local.decide(Mailbox.parse("root@mx2.example.net"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
    }

    /**
     * RFC 1123 §5.2.17: a domain literal of this host's own address is this host. postmaster there (and at a name of
     * dns.local-names) is the postmaster, from any client; any other mailbox there is unknown (550 5.1.1), never
     * relayed to (the mail would come back as a loop, 5.4.6) nor refused as relaying.
     */
    @Test
    void postmasterAtThisHostsOwnAddressLiteralOrOtherNameIsThePostmaster() throws Exception {
        DomainPolicy p = policy("hostname: mx2.example.net\nlisten:\n  smtp: [\"127.0.0.7:25\", \"[::1]:25\"]\n"
                + "dns:\n  local-names: [MX2-alias.Example.NET.]\n"
                + "domains:\n  own.test:\n    role: local\n    mailboxes: [pm]\n    aliases: {postmaster: pm}\n");
        RcptDecision owns = new RcptDecision.Accept(new Route.Local("own.test", List.of("pm")));
        for (String rcpt : List.of("postmaster@[127.0.0.7]", "Postmaster@[IPv6:::1]", "postmaster@[IPv6:0:0:0:0:0:0:0:1]",
                "postmaster@mx2-alias.example.net")) {
            assertThat(p.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isEqualTo(owns);
        }
        assertThat(p.decide(Mailbox.parse("bob@[127.0.0.7]"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class)
                .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("550 5.1.1"));
        // the unspecified address reaches this host too (delivery would find the loop): 550 at RCPT, even without a
        // wildcard listener and from a trusted client, not accepted and bounced 5.4.6
        DomainPolicy trusting = new DomainPolicy(ConfigLoader.parse("hostname: mx2.example.net\nlisten:\n  smtp: [\"127.0.0.7:25\"]\n"
                + "trusted-networks: [192.0.2.0/24]\ndomains:\n  own.test:\n    role: local\n    mailboxes: [pm]\n"
                + "    aliases: {postmaster: pm}\n", Path.of("mxd.yaml")));
        for (String rcpt : List.of("bob@[0.0.0.0]", "bob@[IPv6:::]", "bob@[IPv6:::ffff:0.0.0.0]")) {
            assertThat(trusting.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isInstanceOf(RcptDecision.Refuse.class)
                    .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("550 5.1.1"));
        }
        assertThat(p.routeLocalMail(Mailbox.parse("bob@[127.0.0.7]"))).isEmpty();
        // another address is no address of this host: relayed for a trusted client only, as before
        assertThat(p.decide(Mailbox.parse("postmaster@[127.0.0.8]"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class)
                .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("554 5.7.1"));
        // filtered as the first local domain filters its own postmaster's mail: no way around its filter by the host's name
        DomainPolicy filtered = policy("hostname: mx2.example.net\nlisten:\n  smtp: [\"127.0.0.7:25\"]\n"
                + "filters:\n  clamd: {address: \"127.0.0.1:3310\"}\n"
                + "domains:\n  own.test:\n    role: local\n    mailboxes: [pm]\n    aliases: {postmaster: pm}\n"
                + "    filter:\n      engines: [clamd]\n      virus: reject\n");
        RcptDecision viaDomain = filtered.decide(Mailbox.parse("postmaster@own.test"), STRANGER);
        assertThat(((RcptDecision.Accept) viaDomain).filter()).isNotEqualTo(RcptDecision.FilterGroup.UNFILTERED);
        for (String rcpt : List.of("postmaster@mx2.example.net", "postmaster@[127.0.0.7]")) {
            assertThat(filtered.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isEqualTo(viaDomain);
        }
        // without a local domain, the host's own postmaster Maildir
        DomainPolicy relay = policy("hostname: mx2.example.net\nlisten:\n  smtp: [\"0.0.0.0:25\"]\n");
        assertThat(relay.decide(Mailbox.parse("postmaster@[127.0.0.1]"), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("mx2.example.net", List.of("postmaster"))));
    }

    /**
     * Any other mailbox at this host's own name (its hostname, a name of dns.local-names) is unknown, 550 5.1.1 at RCPT,
     * from a trusted client too: it was relayed, found to loop back to this host and bounced 5.4.6 after the 250 (cron's
     * mail to root@$(hostname) through mxd as its smarthost; backscatter for a forged sender). MAILER-DAEMON there, the
     * From of mxd's bounces, is the postmaster, so a reply to a bounce reaches a person.
     */
    @Test
    void anyOtherMailboxAtThisHostsOwnNameIsUnknownAndMailerDaemonIsThePostmaster() throws Exception {
        DomainPolicy p = new DomainPolicy(ConfigLoader.parse("hostname: mx2.example.net\ntrusted-networks: [127.0.0.0/8]\n"
                + "dns:\n  local-names: [mx2-alias.example.net]\n"
                + "domains:\n  own.test:\n    role: local\n    mailboxes: [pm]\n    aliases: {postmaster: pm}\n", Path.of("mxd.yaml")));
        ClientInfo trusted = new ClientInfo(new java.net.InetSocketAddress("127.0.0.1", 40000), "client.test", true, false,
                Optional.empty(), Optional.empty());
        for (String rcpt : List.of("root@mx2.example.net", "Root@MX2.example.net.", "bob@mx2-alias.example.net")) {
            for (ClientInfo client : List.of(trusted, STRANGER)) {
                assertThat(p.decide(Mailbox.parse(rcpt), client)).as(rcpt).isInstanceOf(RcptDecision.Refuse.class)
                        .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("550 5.1.1"));
            }
            assertThat(p.routeLocalMail(Mailbox.parse(rcpt))).as("a notice to it goes to the postmaster instead").isEmpty();
        }
        RcptDecision owns = new RcptDecision.Accept(new Route.Local("own.test", List.of("pm")));
        for (String rcpt : List.of("MAILER-DAEMON@mx2.example.net", "mailer-daemon@mx2-alias.example.net", "postmaster@mx2.example.net")) {
            assertThat(p.decide(Mailbox.parse(rcpt), STRANGER)).as(rcpt).isEqualTo(owns);
        }
        // a relay host (or a route) sends the host's own name elsewhere, so nothing loops: a satellite's cron mail to
        // root@its-name goes to its central server, as before
        DomainPolicy satellite = new DomainPolicy(ConfigLoader.parse("hostname: mx2.example.net\ntrusted-networks: [127.0.0.0/8]\n"
                + "delivery:\n  relay-host: \"[192.0.2.25]\"\n", Path.of("mxd.yaml")));
        assertThat(satellite.decide(Mailbox.parse("root@mx2.example.net"), trusted))
                .isEqualTo(new RcptDecision.Accept(new Route.Relay("mx2.example.net")));
        assertThat(satellite.decide(Mailbox.parse("root@mx2.example.net"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class)
                .satisfies(r -> assertThat(((RcptDecision.Refuse) r).reply().summary()).startsWith("554 5.7.1"));
        assertThat(satellite.routeLocalMail(Mailbox.parse("root@mx2.example.net"))).contains(new Route.Relay("mx2.example.net"));
        // a host name that is also a domain of the file is that domain, as before
        DomainPolicy named = policy("hostname: own.test\ndomains:\n  own.test:\n    role: local\n    mailboxes: [root, pm]\n");
        assertThat(named.decide(Mailbox.parse("root@own.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Local("own.test", List.of("root"))));
    }

    @Test
    void catchAllReceivesPostmasterWhenNothingElseDoes() throws Exception {
        DomainPolicy p = policy("domains:\n  c.test:\n    role: local\n    mailboxes: [bob]\n    catch-all: bob\n");
        assertThat(p.decide(Mailbox.parse("postmaster@c.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Local("c.test", List.of("bob"))));
    }

    /**
     * A local domain written with mailboxes only (as a first configuration is) starts, and its
     * postmaster is delivered to a mailbox of that name, with a warning at start saying how to send it
     * to a reader; it was refused at start-up (exit 78), so such a configuration never served mail.
     */
    @Test
    void aLocalDomainWithoutPostmasterDeliversItToAPostmasterMailbox() throws Exception {
        DomainPolicy p = policy("domains:\n  d.test:\n    role: local\n    mailboxes: [alice, bob]\n");
        assertThat(p.decide(Mailbox.parse("postmaster@d.test"), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("d.test", List.of("postmaster"))));
        assertThat(p.decide(Mailbox.parse("alice@d.test"), STRANGER))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("d.test", List.of("alice"))));
        assertThat(p.decide(Mailbox.parse("carol@d.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
    }
}
