package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A backup domain promoted to local by SIGHUP while its primary is down: its queued mail, routed for
 * relay at RCPT time, goes to its mailboxes at the next attempt (Postfix re-resolves recipients in its
 * active queue); it was relayed by MX, which now names this host, and bounced 5.4.6. Recipients of
 * other domains keep their relay route.
 */
class ReroutingTest extends QueueManagerTestBase {

    @Test
    void relayMailForADomainNowDeliveredHereGoesToItsMailboxes() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        List<String> localDeliveries = new CopyOnWriteArrayList<>();
        List<String> remoteDeliveries = new CopyOnWriteArrayList<>();
        DeliveryAgent local = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> {
            localDeliveries.add(r.recipient().address() + " " + r.recipient().route());
            return new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty());
        }).toList();
        DeliveryAgent remote = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> {
            remoteDeliveries.add(r.recipient().address().toString());
            return new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
        }).toList();
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        queue.rerouteWith((m, relayDomain) -> relayDomain.equals("promoted.test")
                ? Optional.of(new Route.Local("promoted.test", List.of(m.localKey()))) : Optional.empty());
        store(spool, relayed("carol@promoted.test"), relayed("dave@elsewhere.test"));
        queue.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(localDeliveries).containsExactly("carol@promoted.test Local[domain=promoted.test, mailboxes=[carol]]");
        assertThat(remoteDeliveries).containsExactly("dave@elsewhere.test");
    }
}
