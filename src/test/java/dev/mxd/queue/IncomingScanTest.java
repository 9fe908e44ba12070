package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.smtp.EnhancedStatus;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Mail in incoming/ that the queue manager did not take when it was accepted (the ready queue was
 * full) is found by the scan soon after there is room, and a message whose commit has not ended
 * is never taken by a scan, however old its file looks.
 */
class IncomingScanTest extends QueueManagerTestBase {

    private static DeliveryResult delivered() {
        return new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
    }

    /** Delivers everything at once, noting each message's id in {@code delivered}. */
    private static DeliveryAgent noting(Set<String> delivered) {
        return (e, text, rs) -> {
            delivered.add(e.id());
            return rs.stream().map(r -> delivered()).toList();
        };
    }

    private static DeliveryAgent noLocalMail() {
        return (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
    }

    /**
     * One worker, held by the first message; a ready queue of 5. The rest of 30 messages find it
     * full and stay in incoming/. Once the worker is free they are all delivered within a few
     * seconds (the grace for another process's commit), not a minute later.
     */
    @Test
    void mailThatFoundTheReadyQueueFullGoesSoonAfterThereIsRoom() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        CountDownLatch mayGo = new CountDownLatch(1);
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        DeliveryAgent remote = (e, text, rs) -> {
            try {
                mayGo.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            delivered.add(rs.get(0).recipient().address().toString());
            return rs.stream().map(r -> delivered()).toList();
        };
        queue = new QueueManager(spool, new QueueManager.Settings(1, 1,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), Duration.ofMillis(200), 5),
                noLocalMail(), remote, (e, t, r) -> { }, Clock.systemUTC());
        queue.start();
        for (int i = 0; i < 30; i++) {
            assertThat(spool.store(DestinationBacklogTest.to("user" + i + "@held.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }
        // one in the worker's hands, one taken by the scheduler waiting for a worker, 5 in the ready queue
        assertThat(spool.count(QueueState.INCOMING)).as("left on disk, unknown to the queue manager").isGreaterThanOrEqualTo(20);

        long released = System.nanoTime();
        mayGo.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 30 && queue.idle()
                && spool.count(QueueState.INCOMING) == 0 && spool.count(QueueState.DEFERRED) == 0);
        Duration took = Duration.ofNanos(System.nanoTime() - released);
        assertThat(took).as("the incoming backlog waited for the grace and a scan, no more")
                .isLessThan(QueueManager.INCOMING_GRACE.plusSeconds(10));
    }

    /**
     * A message whose commit is still running (held here in an accept listener, which the spool
     * calls before the commit ends) is passed over by the scan even when its file is an hour old,
     * as it would be if the fsync stalled: a failed fsync removes it and answers 452, so it must
     * not be delivered before the commit has ended.
     */
    @Test
    void aMessageStillBeingCommittedIsNotTakenByTheScan() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        DeliveryAgent remote = noting(delivered);
        CountDownLatch inListener = new CountDownLatch(1);
        CountDownLatch mayEnd = new CountDownLatch(1);
        Set<Boolean> seenCommitting = ConcurrentHashMap.newKeySet();
        spool.onAccepted(id -> {
            seenCommitting.add(spool.committing(id));
            try {
                // as if the commit had begun an hour ago and its fsync were still running
                Files.setLastModifiedTime(dir.resolve("incoming").resolve(id + ".json"),
                        FileTime.from(Instant.now().minus(Duration.ofHours(1))));
                inListener.countDown();
                mayEnd.await(30, TimeUnit.SECONDS);
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        });
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), Duration.ofMillis(100), 20),
                noLocalMail(), remote, (e, t, r) -> { }, Clock.systemUTC());
        queue.start(); // its own listener comes after the test's: the commit is held before the queue manager hears of it

        StoreOutcome[] outcome = new StoreOutcome[1];
        Thread committer = new Thread(() -> outcome[0] = spool.store(DestinationBacklogTest.to("someone@far.test")));
        committer.start();
        assertThat(inListener.await(10, TimeUnit.SECONDS)).isTrue();
        String id = Files.list(dir.resolve("incoming")).findFirst().orElseThrow().getFileName().toString().replace(".json", "");
        Thread.sleep(1_000); // ten scan intervals
        assertThat(delivered).as("not taken while its commit runs").isEmpty();
        assertThat(spool.committing(id)).isTrue();

        mayEnd.countDown();
        committer.join(10_000);
        assertThat(outcome[0]).isInstanceOf(StoreOutcome.Stored.class);
        assertThat(spool.committing(id)).as("the commit has ended").isFalse();
        assertThat(seenCommitting).containsExactly(true);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> delivered.contains(id) && queue.idle());
    }

    /**
     * Another process's commit ({@code mxd quarantine release} through {@link Spool#attach}) is
     * dated ahead, so the running server's scan of incoming/ leaves it alone until that process
     * hands it over by moving it to deferred/; then it goes at once.
     */
    @Test
    void anotherProcesssCommitWaitsUntilItIsHandedOver() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        DeliveryAgent remote = noting(delivered);
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1)), Duration.ofMillis(100), 20),
                noLocalMail(), remote, (e, t, r) -> { }, Clock.systemUTC());
        queue.start();

        Spool other = Spool.attach(dir, "mx.test", Clock.systemUTC());
        String id = ((StoreOutcome.Stored) other.store(DestinationBacklogTest.to("someone@far.test"))).queueId();
        Instant dated = Files.getLastModifiedTime(dir.resolve("incoming").resolve(id + ".json")).toInstant();
        assertThat(dated).as("dated ahead: not for the server's scan yet").isAfter(Instant.now().plus(QueueManager.INCOMING_GRACE));
        Thread.sleep(500); // five scan intervals
        assertThat(delivered).isEmpty();

        other.defer(id, QueueState.INCOMING, Instant.now());
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> delivered.contains(id) && queue.idle());
    }

    /**
     * Files dated before the clock was set back a day (an NTP step, a virtual machine restored from a snapshot): a
     * message deferred for a minute then, and one accepted then and not yet taken, would each wait out the day as well.
     * Dated later than anything in their directories is ever dated, they are due at once.
     */
    @Test
    void filesDatedBeforeTheClockWentBackAreDueAtOnce() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Instant before = Instant.now().plus(Duration.ofDays(1)); // "now" before the step
        String deferred = ((StoreOutcome.Stored) spool.store(DestinationBacklogTest.to("a@far.test"))).queueId();
        spool.defer(deferred, QueueState.INCOMING, before.plusSeconds(60));
        String incoming = ((StoreOutcome.Stored) spool.store(DestinationBacklogTest.to("b@far.test"))).queueId();
        Files.setLastModifiedTime(dir.resolve("incoming").resolve(incoming + ".json"), FileTime.from(before));
        // and one deferred as far as the retry policy defers, from this clock's now: it waits its time
        String waiting = ((StoreOutcome.Stored) spool.store(DestinationBacklogTest.to("c@far.test"))).queueId();
        spool.defer(waiting, QueueState.INCOMING, Instant.now().plusSeconds(110));

        Set<String> delivered = ConcurrentHashMap.newKeySet();
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(120), Duration.ofHours(1)), Duration.ofMillis(100), 20),
                noLocalMail(), noting(delivered), (e, t, r) -> { }, Clock.systemUTC());
        queue.start();
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> delivered.containsAll(Set.of(deferred, incoming)));
        Thread.sleep(500);
        assertThat(delivered).doesNotContain(waiting);
        assertThat(spool.state(waiting)).contains(QueueState.DEFERRED);
    }
}
