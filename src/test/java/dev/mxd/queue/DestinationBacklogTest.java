package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A destination's backlog larger than the active limit (the ids the queue manager keeps in
 * memory): its waiting list takes at most the active limit, the rest stays on disk, and new mail
 * for another destination still goes at once; when the destination frees up, every message of the
 * backlog is delivered, none lost. The remote agent here is a stand-in that holds deliveries to
 * one domain until the test lets them go; DestinationLimitsPeerTest does the same against real
 * next hops with the default limit.
 */
class DestinationBacklogTest extends QueueManagerTestBase {

    static ReceivedMessage to(String address) {
        return new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse(address), RcptParameters.NONE,
                        new Route.Relay(address.substring(address.indexOf('@') + 1)))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                ("Subject: " + address + "\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void aBacklogBeyondTheActiveLimitWaitsOnDiskAndNeitherBlocksOthersNorIsLost() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        HeldDeliveries slow = new HeldDeliveries(address -> address.endsWith("@slow.test"));
        CountDownLatch slowMayGo = slow.mayGo;
        AtomicInteger slowOpen = slow.open;
        AtomicInteger slowMost = slow.most;
        Set<String> delivered = slow.delivered;
        Map<String, Instant> fastAt = slow.fastAt;
        DeliveryAgent remote = slow.agent();
        DeliveryAgent local = noLocalMail();
        // 20 ids in memory at most waiting for a destination; 2 slots per destination, 4 workers.
        queue = new QueueManager(spool, new QueueManager.Settings(4, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), Duration.ofMillis(200), 20),
                local, remote, (e, t, r) -> { }, Clock.systemUTC());
        queue.start();

        for (int i = 0; i < 100; i++) {
            assertThat(spool.store(to("user" + i + "@slow.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> slowOpen.get() == 2);
        // the rest waits on disk, in incoming/ (the ready queue was full when it came) or deferred/
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> spool.count(QueueState.DEFERRED) + spool.count(QueueState.INCOMING) >= 78);

        Instant sent = Instant.now();
        for (int i = 0; i < 5; i++) {
            assertThat(spool.store(to("user" + i + "@fast.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }
        // The slow destination holds its slots for 30 s: fast mail arriving well before that was not
        // queued behind it. The bound leaves room for a loaded machine (CI on 2 cores), not for the backlog.
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> fastAt.size() == 5);
        assertThat(Duration.between(sent, fastAt.values().stream().max(Instant::compareTo).orElseThrow()))
                .isLessThan(Duration.ofSeconds(10));

        slowMayGo.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 105 && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0);
        assertThat(slowMost.get()).isEqualTo(2);
    }

    /**
     * A destination that comes back to a backlog five times the active limit (the depth curve of
     * bench/curves.sh: 100,000 deferred, then the destination returns). Everything is delivered
     * well within one scan interval: what a scan brings in waits in memory for a slot. Before, a
     * waiting list took half the active limit and the rest was pushed back to disk a scan interval
     * ahead, so the queue stood idle between scans (100,000 drained at 257 msgs/s, Postfix 1,428).
     */
    @Test
    void aBacklogForOneDestinationDrainsAtDeliverySpeedNotAtScanSpeed() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Instant now = Instant.now();
        for (int i = 0; i < 100; i++) {
            StoreOutcome stored = spool.store(to("user" + i + "@back.test"));
            spool.defer(((StoreOutcome.Stored) stored).queueId(), QueueState.INCOMING, now); // deferred, due now
        }
        assertThat(spool.count(QueueState.DEFERRED)).isEqualTo(100);
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        AtomicInteger attempts = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            attempts.incrementAndGet();
            try {
                Thread.sleep(20); // a delivery takes a while: the other workers find the slots taken
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            delivered.add(rs.get(0).recipient().address().toString());
            return rs.stream().map(r -> delivered("250 ok")).toList();
        };
        DeliveryAgent local = noLocalMail();
        Duration scanInterval = Duration.ofSeconds(30);
        // 20 ids in memory at most, 2 slots for the destination, 4 workers: 100 messages take about 1 s
        queue = new QueueManager(spool, new QueueManager.Settings(4, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), scanInterval, 20),
                local, remote, (e, t, r) -> { }, Clock.systemUTC());
        long started = System.nanoTime();
        queue.start();

        Awaitility.await().atMost(scanInterval.dividedBy(2)).until(() -> delivered.size() == 100 && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.ACTIVE) == 0);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("drained within half a scan interval").isLessThan(scanInterval.dividedBy(2));
        assertThat(attempts.get()).as("one attempt a message").isEqualTo(100);
    }

    /**
     * A slow destination's backlog fills the whole active limit, and mail for another destination
     * is due on disk (deferred earlier, or flushed by the operator): each scan interval's scan
     * still takes some in, so it goes long before the slow destination's backlog is worked off.
     */
    @Test
    void dueMailForAnotherDestinationIsNotKeptOnDiskByABacklogThatFillsTheLimit() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        HeldDeliveries slow = new HeldDeliveries(address -> address.endsWith("@slow.test"));
        CountDownLatch slowMayGo = slow.mayGo;
        AtomicInteger slowOpen = slow.open;
        Set<String> delivered = slow.delivered;
        DeliveryAgent remote = slow.agent();
        DeliveryAgent local = noLocalMail();
        // 20 ids in memory at most (a scan interval's scan takes at least 2), 2 slots a destination, 4 workers
        queue = new QueueManager(spool, new QueueManager.Settings(4, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), Duration.ofMillis(300), 20),
                local, remote, (e, t, r) -> { }, Clock.systemUTC());
        queue.start();
        for (int i = 0; i < 40; i++) {
            assertThat(spool.store(to("user" + i + "@slow.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> slowOpen.get() == 2);

        // due on disk, unknown to the queue manager until a scan finds it (a second handle on the
        // spool has no listener, as for `mxd quarantine release` or mail deferred long ago)
        Spool other = Spool.attach(dir, "mx.test", Clock.systemUTC());
        String id = ((StoreOutcome.Stored) other.store(to("someone@other.test"))).queueId();
        other.defer(id, QueueState.INCOMING, Instant.now());

        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> delivered.contains("someone@other.test"));
        assertThat(delivered).as("the slow destination's backlog is still held").noneMatch(a -> a.endsWith("@slow.test"));

        slowMayGo.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 41 && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0);
    }

    /**
     * A remote agent that holds every delivery to slow.test until {@link #mayGo} opens (at most
     * 30 s), and delivers everything else at once, noting when.
     */
    private static DeliveryAgent noLocalMail() {
        return (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
    }

    private static DeliveryResult delivered(String detail) {
        return new DeliveryResult.Delivered(EnhancedStatus.OK, detail, Optional.empty(), Optional.empty());
    }
}
