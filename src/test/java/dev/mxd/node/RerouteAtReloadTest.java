package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.Route;
import dev.mxd.ops.Metrics;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.Mailbox;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the configuration in force sends a queued recipient (the queue asks at every attempt, as Postfix
 * re-resolves in its active queue): relay mail of a domain now delivered here to its mailboxes, mailbox mail of
 * a domain no longer delivered here (a backup domain now, or removed) to relay; the postmaster mailbox under
 * a host name no domain has, where notices go when nothing else takes them, stays where it is (the queue
 * outlives a change of hostname).
 */
class RerouteAtReloadTest {

    @Test
    void queuedRoutesFollowTheConfigurationInForce(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [alice, postmaster]\n"
                + "  moved.test:\n    role: backup\n", dir.resolve("mxd.yaml"));
        ReceivingMx.Reloadable live = new ReceivingMx.Reloadable(config, Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC()),
                new Metrics(Clock.systemUTC()), Clock.systemUTC());
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Relay("here.test")))
                .contains(new Route.Local("here.test", List.of("alice")));
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Local("here.test", List.of("alice")))).isEmpty();
        assertThat(live.reroute(Mailbox.parse("bob@moved.test"), new Route.Local("moved.test", List.of("bob"))))
                .contains(new Route.Relay("moved.test"));
        assertThat(live.reroute(Mailbox.parse("carol@gone.test"), new Route.Local("gone.test", List.of("carol"))))
                .contains(new Route.Relay("gone.test"));
        assertThat(live.reroute(Mailbox.parse("dave@far.test"), new Route.Relay("far.test"))).isEmpty();
        // relay mail of a domain now delivered here, to an address with no mailbox: to the local delivery, which fails it
        // 5.1.1 (it was left on the relay path: sent to the old primary, or bounced as a loop back to this host)
        assertThat(live.reroute(Mailbox.parse("nobody@here.test"), new Route.Relay("here.test")))
                .contains(new Route.Local("here.test", List.of("nobody")));
        assertThat(live.hasMailbox("here.test", "nobody")).isFalse();
        assertThat(live.reroute(Mailbox.parse("postmaster@old-name.test"), new Route.Local("old-name.test", List.of("postmaster"))))
                .as("the postmaster fallback of a former hostname").isEqualTo(Optional.empty());
        // here.test removed by a reload: all its queued mail goes for relay, its postmaster's too
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  moved.test:\n    role: backup\n", dir.resolve("mxd.yaml")));
        assertThat(live.reroute(Mailbox.parse("postmaster@here.test"), new Route.Local("here.test", List.of("postmaster"))))
                .contains(new Route.Relay("here.test"));
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Local("here.test", List.of("alice"))))
                .contains(new Route.Relay("here.test"));
        // a domain named as this host, removed: the postmaster fallback under the hostname stays (relayed, it would loop)
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  mx.test:\n    role: local\n    mailboxes: [postmaster]\n", dir.resolve("mxd.yaml")));
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n", dir.resolve("mxd.yaml")));
        assertThat(live.reroute(Mailbox.parse("postmaster@mx.test"), new Route.Local("mx.test", List.of("postmaster")))).isEmpty();
    }

    /**
     * A mailbox a reload removed gets no copy of the mail queued for it (its Maildir was made anew, and mail for
     * someone who left went there); a recipient all of whose mailboxes are gone fails 5.1.1, as Postfix's virtual
     * delivery bounces a user no longer in its maps; one that still has another mailbox is delivered there.
     */
    @Test
    void aMailboxRemovedByAReloadGetsNoQueuedCopy(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [bob, carol]\n    aliases: {sales: [bob, carol]}\n",
                dir.resolve("mxd.yaml"));
        ReceivingMx.Reloadable live = new ReceivingMx.Reloadable(config, Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC()),
                new Metrics(Clock.systemUTC()), Clock.systemUTC());
        dev.mxd.delivery.Maildir maildir = new dev.mxd.delivery.Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC());
        dev.mxd.delivery.LocalDeliveryAgent agent = new dev.mxd.delivery.LocalDeliveryAgent(maildir, live::hasMailbox);
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [carol]\n    aliases: {sales: [carol]}\n", dir.resolve("mxd.yaml")));
        assertThat(live.hasMailbox("here.test", "bob")).isFalse();
        assertThat(live.hasMailbox("here.test", "postmaster")).as("always deliverable").isTrue();

        java.nio.file.Path text = java.nio.file.Files.writeString(dir.resolve("text"), "Subject: queued\r\n\r\nhi\r\n");
        dev.mxd.queue.RecipientStatus sales = pending("sales@here.test", List.of("bob", "carol"));
        dev.mxd.queue.RecipientStatus bob = pending("bob@here.test", List.of("bob"));
        dev.mxd.queue.Envelope e = new dev.mxd.queue.Envelope("Q1", Optional.of(Mailbox.parse("a@far.test")),
                dev.mxd.smtp.MailParameters.NONE, List.of(sales, bob), new dev.mxd.mail.ClientInfo(
                        new java.net.InetSocketAddress("127.0.0.1", 1), "client.test", true, false),
                java.time.Instant.now(), java.nio.file.Files.size(text));

        List<dev.mxd.queue.DeliveryResult> results = agent.deliver(e, text, List.of(sales, bob));

        assertThat(results.get(0)).as("sales: carol has the copy").isInstanceOf(dev.mxd.queue.DeliveryResult.Delivered.class);
        assertThat(results.get(1)).isInstanceOf(dev.mxd.queue.DeliveryResult.Failed.class);
        assertThat(results.get(1).status()).isEqualTo(dev.mxd.smtp.EnhancedStatus.BAD_MAILBOX);
        assertThat(results.get(1).detail()).contains("bob@here.test");
        assertThat(maildir.directory("here.test", "bob")).as("not made anew").doesNotExist();
        try (var copies = java.nio.file.Files.list(maildir.directory("here.test", "carol").resolve("new"))) {
            assertThat(copies).hasSize(1);
        }
    }

    /**
     * A queued alias recipient whose mailbox a reload removed is looked up again, as Postfix expands an alias at each
     * delivery: the alias's new members get the copy. It kept its old route, failed 5.1.1 for the removed mailbox, and
     * the member the reload added never got the message. An address that leads nowhere now keeps its route (and fails).
     */
    @Test
    void aQueuedAliasWhoseMailboxIsGoneIsExpandedAgain(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [alice, bob]\n    aliases: {team: [alice, bob]}\n",
                dir.resolve("mxd.yaml"));
        ReceivingMx.Reloadable live = new ReceivingMx.Reloadable(config, Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC()),
                new Metrics(Clock.systemUTC()), Clock.systemUTC());
        // alice had her copy; bob's failed, so the recipient waits for bob alone
        Route.Local waiting = new Route.Local("here.test", List.of("bob"));
        assertThat(live.reroute(Mailbox.parse("team@here.test"), waiting)).as("nothing changed").isEmpty();
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [alice, carol]\n    aliases: {team: [alice, carol]}\n",
                dir.resolve("mxd.yaml")));
        assertThat(live.reroute(Mailbox.parse("team@here.test"), waiting)).contains(new Route.Local("here.test", List.of("alice", "carol")));
        assertThat(live.reroute(Mailbox.parse("bob@here.test"), new Route.Local("here.test", List.of("bob"))))
                .as("bob leads nowhere now: kept, to fail 5.1.1 at delivery").isEmpty();
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Local("here.test", List.of("alice")))).isEmpty();
    }

    private static dev.mxd.queue.RecipientStatus pending(String address, List<String> mailboxes) {
        return new dev.mxd.queue.RecipientStatus(new dev.mxd.mail.Recipient(Mailbox.parse(address), dev.mxd.smtp.RcptParameters.NONE,
                new Route.Local("here.test", mailboxes)), dev.mxd.queue.DeliveryState.PENDING, "", java.time.Instant.now());
    }
}
