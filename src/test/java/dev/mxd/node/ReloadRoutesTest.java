package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.Await;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * delivery.routes and delivery.relay-host change at a reload (SIGHUP) together with the domains
 * they route, as Postfix's transport_maps and relayhost change at postfix reload; routes and
 * domains that do not fit together refuse the reload as a whole.
 */
class ReloadRoutesTest {

    /** Goes on the domains: section TestMx writes (after example.org), then the routes. */
    private static final String KEPT = "  kept.test:\n    role: backup\n    mailboxes: [carol, postmaster]\n"
            + "delivery:\n  routes:\n    kept.test: local\n";

    @Test
    void aReloadWhoseDomainsAndRoutesDoNotFitChangesNothing() throws Exception {
        try (TestMx mx = TestMx.start(KEPT); LogCapture log = LogCapture.start(Level.ERROR)) {
            String before = Files.readString(mx.configFile());
            Files.writeString(mx.configFile(), before.replace("    mailboxes: [carol, postmaster]\n", ""));

            assertThat(mx.mx().reload(mx.configFile())).isFalse();
            assertThat(log.lines()).anySatisfy(l -> assertThat(l)
                    .contains("reload: invalid configuration, still using the previous one")
                    .contains("delivery.routes.kept.test: local, but the backup domain kept.test lists no mailboxes"));
            // the domains in use are the old ones: carol is still delivered here
            String id = mx.send("", "carol@kept.test", "Subject: kept\r\n\r\nbody\r\n".getBytes());
            assertThat(id).isNotBlank();
            var maildir = mx.mx().maildir("kept.test", "carol").resolve("new");
            dev.mxd.testing.Await.within(Duration.ofSeconds(20), () -> Files.isDirectory(maildir) && Files.list(maildir).count() == 1);
        }
    }

    /**
     * A domain delivered here made a relayed one by a reload (its mailboxes move to an inner server): a recipient
     * whose Maildir write had failed was written into the old mailbox at its retry, here, where nobody reads any
     * more. Postfix resolves the recipient again each time its message enters the active queue; now mxd does too,
     * and the mail goes to the domain's new next hop.
     */
    @Test
    void deferredLocalMailOfADomainNoLongerDeliveredHereIsRelayed() throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        TestMx started;
        try (java.net.ServerSocket held = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            started = TestMx.start(KEPT);
        }
        try (TestMx mx = started;
             FakeSmtpServer inner = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 10,
                     "220 inner.example ESMTP", List.of(), c -> null)) {
            java.nio.file.Path box = mx.mx().maildir("kept.test", "carol");
            Files.createDirectories(box.getParent());
            Files.writeString(box, "not a directory"); // every write to carol's Maildir fails: deferred
            String id = mx.sendTo("carol@kept.test");
            assertThat(Await.within(Duration.ofSeconds(15), () -> mx.mx().spool().state(id)
                    .filter(dev.mxd.queue.QueueState.DEFERRED::equals).isPresent())).as("deferred by the Maildir").isTrue();

            String before = Files.readString(mx.configFile());
            Files.writeString(mx.configFile(), before.replace("    kept.test: local\n", "    kept.test: \"[127.0.0.1]:" + port + "\"\n"));
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            mx.mx().queue().flush();
            assertThat(Await.within(Duration.ofSeconds(15), () -> inner.messages.size() == 1)).as("relayed to the new next hop").isTrue();
            assertThat(inner.commands("RCPT")).containsExactly("RCPT TO:<carol@kept.test>");
            assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).isEmpty())).isTrue();
        }
    }

    /**
     * The gateway set-up: a backup domain added by a reload together with its route to an inner
     * server. Before, the routes stayed as they started ("delivery changed; that needs a restart"),
     * the domain's MX records named this host, and every message bounced 5.4.6 as a loop until a
     * restart. Now the mail goes to the inner server, and a route to this node's own listener
     * refuses the reload.
     */
    @Test
    void aDomainAddedWithItsRouteIsRelayedThereAfterTheReload() throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        TestMx started;
        try (java.net.ServerSocket held = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            started = TestMx.start(KEPT); // the node must not pick the inner server's port for itself
        }
        try (TestMx mx = started;
             FakeSmtpServer inner = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 10,
                     "220 inner.example ESMTP", List.of(), c -> null)) {
            String before = Files.readString(mx.configFile());
            String selfRoute = before.replace("  kept.test:\n", "  new.test:\n    role: backup\n  kept.test:\n")
                    .replace("    kept.test: local\n", "    kept.test: local\n    new.test: \"[127.0.0.1]:" + mx.smtp().getPort() + "\"\n");
            Files.writeString(mx.configFile(), selfRoute);
            assertThat(mx.mx().reload(mx.configFile())).as("a route to this node's own listener").isFalse();

            Files.writeString(mx.configFile(), before.replace("  kept.test:\n", "  new.test:\n    role: backup\n  kept.test:\n")
                    .replace("    kept.test: local\n", "    kept.test: local\n    new.test: \"[127.0.0.1]:" + port + "\"\n"));
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            String id = mx.sendTo("dave@new.test");
            assertThat(id).isNotBlank();
            assertThat(Await.within(Duration.ofSeconds(15), () -> inner.messages.size() == 1)).as("relayed to the inner server").isTrue();
            assertThat(inner.commands("RCPT")).containsExactly("RCPT TO:<dave@new.test>");
        }
    }
}
