package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The incident Postfix operators know: the primary of a domain dies, this backup MX holds its mail,
 * the operator makes the domain local here (SIGHUP). The mail held for relay goes to the domain's
 * mailboxes at the next attempt; it stayed routed for relay and, the MX then naming this host,
 * would have bounced 5.4.6.
 */
class PromotedBackupTest {

    @Test
    void mailHeldForAPrimaryGoesToTheMailboxesOnceTheDomainIsMadeLocal(@TempDir Path dir) throws Exception {
        try (TestMx mx = TestMx.startIn(dir, "delivery:\n  scan-interval: 1s\n")) {
            java.util.List<dev.mxd.queue.DeliveryEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
            mx.mx().queue().onDelivery(events::add);
            String id = mx.sendTo("carol@example.org"); // example.org is a backup domain; its MX cannot be looked up: held
            String nobody = mx.sendTo("nobody@example.org"); // an address the promoted domain will have no mailbox for
            assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).filter(QueueState.DEFERRED::equals)
                    .isPresent() && mx.mx().spool().state(nobody).filter(QueueState.DEFERRED::equals).isPresent())).isTrue();
            String config = Files.readString(mx.configFile());
            Files.writeString(mx.configFile(), config.replace("  example.org:\n    role: backup\n",
                    "  example.org:\n    role: local\n    mailboxes: [carol]\n    aliases: {postmaster: carol}\n"));
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            mx.mx().queue().flush();
            Path box = mx.mx().maildir("example.org", "carol").resolve("new");
            assertThat(Await.within(Duration.ofSeconds(10), () -> Files.isDirectory(box) && Files.list(box).count() == 1))
                    .as("delivered to carol's Maildir").isTrue();
            // The copy is in the Maildir before the spool lets the message go: wait for that too.
            assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).isEmpty())).as("removed from the spool")
                    .isTrue();
            // nobody@ is no mailbox of the domain now delivered here: it fails 5.1.1 (its sender told), as new mail to it is
            // refused at RCPT; it stayed routed for relay by MX to a domain this host now takes itself
            assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(nobody).isEmpty())).isTrue();
            assertThat(events).filteredOn(e -> e.queueId().equals(nobody)).last().satisfies(e -> {
                assertThat(e.outcome()).isEqualTo(dev.mxd.queue.DeliveryEvent.Outcome.BOUNCED);
                assertThat(e.dsn()).isEqualTo("5.1.1");
                assertThat(e.transport()).isEqualTo("local");
            });
        }
    }
}
