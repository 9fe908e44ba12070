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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A backup domain promoted to local by SIGHUP while its primary is down: its queued mail, routed for
 * relay at RCPT time, goes to its mailboxes at the next attempt (Postfix re-resolves recipients in its
 * active queue); it was relayed by MX, which now names this host, and bounced 5.4.6. Recipients of
 * other domains keep their relay route.
 */
class ReroutingTest extends QueueManagerTestBase {

    /** An agent that delivers every recipient and notes each in {@code into}: its address, and its route too when asked. */
    private static DeliveryAgent recording(List<String> into, boolean withRoute) {
        return (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> {
            into.add(withRoute ? r.recipient().address() + " " + r.recipient().route() : r.recipient().address().toString());
            return new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered", Optional.empty(), Optional.empty());
        }).toList();
    }

    @Test
    void relayMailForADomainNowDeliveredHereGoesToItsMailboxes() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        List<String> localDeliveries = new CopyOnWriteArrayList<>();
        List<String> remoteDeliveries = new CopyOnWriteArrayList<>();
        DeliveryAgent local = recording(localDeliveries, true);
        DeliveryAgent remote = recording(remoteDeliveries, false);
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        queue.rerouteWith((m, queued) -> queued.equals(new Route.Relay("promoted.test"))
                ? Optional.of(new Route.Local("promoted.test", List.of(m.localKey()))) : Optional.empty());
        store(spool, relayed("carol@promoted.test"), relayed("dave@elsewhere.test"));
        queue.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(localDeliveries).containsExactly("carol@promoted.test Local[domain=promoted.test, mailboxes=[carol]]");
        assertThat(remoteDeliveries).containsExactly("dave@elsewhere.test");
    }

    /** The other way: local mail of a domain no longer delivered here goes for relay to its domain; others keep their route. */
    @Test
    void localMailForADomainNoLongerDeliveredHereIsRelayed() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        List<String> localDeliveries = new CopyOnWriteArrayList<>();
        List<String> remoteDeliveries = new CopyOnWriteArrayList<>();
        DeliveryAgent local = recording(localDeliveries, false);
        DeliveryAgent remote = recording(remoteDeliveries, true);
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        queue.rerouteWith((m, queued) -> queued instanceof Route.Local l && l.domain().equals("demoted.test")
                ? Optional.of(new Route.Relay("demoted.test")) : Optional.empty());
        store(spool, new dev.mxd.mail.Recipient(dev.mxd.smtp.Mailbox.parse("carol@demoted.test"), dev.mxd.smtp.RcptParameters.NONE,
                new Route.Local("demoted.test", List.of("carol"))), new dev.mxd.mail.Recipient(dev.mxd.smtp.Mailbox.parse("erin@stays.test"),
                dev.mxd.smtp.RcptParameters.NONE, new Route.Local("stays.test", List.of("erin"))));
        queue.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(remoteDeliveries).containsExactly("carol@demoted.test Relay[domain=demoted.test]");
        assertThat(localDeliveries).containsExactly("erin@stays.test");
    }

    /**
     * The other way while the local slots are full: mail waiting for a mailbox slot when the reload moves its domain
     * off this host is relayed as soon as it is its turn, not filed for its next retry (the round it waited in knew
     * only its old destination, and an hour passed).
     */
    @Test
    void mailWaitingForAMailboxSlotWhenTheDomainLeavesIsRelayedInTheSameRound() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        List<String> localDeliveries = new CopyOnWriteArrayList<>();
        List<String> remoteDeliveries = new CopyOnWriteArrayList<>();
        CountDownLatch localStarted = new CountDownLatch(1);
        CountDownLatch localMayEnd = new CountDownLatch(1);
        DeliveryAgent local = (e, text, rs) -> {
            localStarted.countDown();
            try {
                localMayEnd.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            return rs.stream().<DeliveryResult>map(r -> {
                localDeliveries.add(r.recipient().address().toString());
                return new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty());
            }).toList();
        };
        DeliveryAgent remote = recording(remoteDeliveries, false);
        queue = new QueueManager(spool, new QueueManager.Settings(4, 1,
                new RetryPolicy(Duration.ofHours(1), Duration.ofHours(2), Duration.ofDays(1)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        for (String box : List.of("b1", "b2", "b3")) {
            store(spool, new dev.mxd.mail.Recipient(dev.mxd.smtp.Mailbox.parse(box + "@leaving.test"), dev.mxd.smtp.RcptParameters.NONE,
                    new Route.Local("leaving.test", List.of(box))));
        }
        queue.start();
        assertThat(localStarted.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> queue.waitingForSlots() == 2); // the other two wait for the one slot
        queue.rerouteWith((m, queued) -> queued instanceof Route.Local l && l.domain().equals("leaving.test")
                ? Optional.of(new Route.Relay("leaving.test")) : Optional.empty());
        localMayEnd.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(localDeliveries).hasSize(1); // the one being written when the reload came
        assertThat(remoteDeliveries).hasSize(2);
    }

    /**
     * The same while the domain's slots are full: mail waiting for a slot when the reload comes is
     * delivered to its mailboxes as soon as it gets one (the round it waited in gained the local
     * destination; the set it was kept in could not grow, and every waiting message was deferred
     * with an error, one after the other).
     */
    @Test
    void mailWaitingForASlotWhenTheDomainBecomesLocalGoesToItsMailboxes() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        List<String> localDeliveries = new CopyOnWriteArrayList<>();
        List<String> remoteDeliveries = new CopyOnWriteArrayList<>();
        CountDownLatch remoteStarted = new CountDownLatch(1);
        CountDownLatch remoteMayEnd = new CountDownLatch(1);
        DeliveryAgent local = recording(localDeliveries, false);
        DeliveryAgent remote = (e, text, rs) -> {
            remoteStarted.countDown();
            try {
                remoteMayEnd.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            return rs.stream().<DeliveryResult>map(r -> {
                remoteDeliveries.add(r.recipient().address().toString());
                return new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
            }).toList();
        };
        // one slot per destination, and a first retry an hour away: a message deferred by the fault would stay
        queue = new QueueManager(spool, new QueueManager.Settings(4, 1,
                new RetryPolicy(Duration.ofHours(1), Duration.ofHours(2), Duration.ofDays(1)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        store(spool, relayed("a1@promoted.test"));
        store(spool, relayed("a2@promoted.test"));
        store(spool, relayed("a3@promoted.test"));
        queue.start();
        assertThat(remoteStarted.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> queue.waitingForSlots() == 2); // the other two wait for the one slot
        queue.rerouteWith((m, queued) -> queued.equals(new Route.Relay("promoted.test"))
                ? Optional.of(new Route.Local("promoted.test", List.of(m.localKey()))) : Optional.empty());
        remoteMayEnd.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(remoteDeliveries).hasSize(1); // the one being relayed when the reload came
        assertThat(localDeliveries).hasSize(2);
        assertThat(spool.count(QueueState.HOLD)).isZero();
    }
}
