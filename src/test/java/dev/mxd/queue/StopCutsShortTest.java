package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A stop whose drain runs out while one destination of a message still waits on its next hop (a final reply that
 * takes a minute): the delivery is cut short, so that the message's pass ends and writes its notice and the states
 * it tells of. Before, the stop left the pass unwritten, and a recipient of another destination, delivered with
 * NOTIFY=SUCCESS in that pass, was delivered again after the restart (its state on disk still the one before).
 */
class StopCutsShortTest extends QueueManagerTestBase {

    /** A next hop for slow.test that answers only when cut short, deaf to interrupts as a socket read is. */
    private static final class SlowAgent implements DeliveryAgent {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch cut = new CountDownLatch(1);

        @Override
        public List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients) {
            if (!recipients.get(0).recipient().address().domainKey().equals("slow.test")) {
                // relayed to a next hop without DSN: the NOTIFY=SUCCESS recipient is owed a "relayed" notice by this pass
                return recipients.stream().<DeliveryResult>map(r -> new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok",
                        Optional.of("mx.fast.test"), Optional.empty(), true)).toList();
            }
            started.countDown();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // bounded: the test ends whatever happens
            while (cut.getCount() > 0 && System.nanoTime() < until) {
                try {
                    cut.await(100, TimeUnit.MILLISECONDS);
                } catch (InterruptedException ignored) {
                    // a thread blocked in a socket read does not see an interrupt either
                }
            }
            return recipients.stream().<DeliveryResult>map(r ->
                    DeliveryResult.Deferred.of(EnhancedStatus.BAD_CONNECTION, "lost the connection at final-dot")).toList();
        }

        @Override
        public void cutShort() {
            cut.countDown();
        }
    }

    @Test
    void aStopWhoseDrainRunsOutStillWritesThePassesOutcomes() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        SlowAgent remote = new SlowAgent();
        List<List<RecipientStatus>> notices = new CopyOnWriteArrayList<>();
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        queue = new QueueManager(spool, retriesAnHourAway(), local, remote, (e, text, rs) -> notices.add(rs), Clock.systemUTC());
        queue.drain(Duration.ofMillis(500));
        Recipient wantsSuccess = new Recipient(Mailbox.parse("a@fast.test"), new RcptParameters(Set.of(DsnNotify.SUCCESS),
                Optional.empty()), new Route.Relay("fast.test"));
        store(spool, wantsSuccess, relayed("s@slow.test"));
        String id = spool.ids(QueueState.INCOMING).get(0);
        queue.start();
        assertThat(remote.started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !spool.envelope(QueueState.ACTIVE, id).recipients().isEmpty());

        long start = System.nanoTime();
        queue.close();
        queue = null;
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("cut short after the drain, not after the slow reply")
                .isLessThan(Duration.ofSeconds(20));

        // the pass's success notice was sent, and the state on disk says so: a restart does not deliver a@fast.test again
        assertThat(notices).singleElement().satisfies(n -> assertThat(n).singleElement()
                .satisfies(r -> assertThat(r.recipient().address()).hasToString("a@fast.test")));
        QueueState where = spool.state(id).orElseThrow();
        List<RecipientStatus> onDisk = spool.envelope(where, id).recipients();
        assertThat(onDisk.get(0).state()).isEqualTo(DeliveryState.DELIVERED);
        assertThat(onDisk.get(1).state()).isNotEqualTo(DeliveryState.DELIVERED);
        // the recipient cut short is due at once after the start, not at its retry time (retries are an hour away here)
        assertThat(where).isEqualTo(QueueState.DEFERRED);
        assertThat(spool.nextAttempt(id)).isBefore(java.time.Instant.now().plusSeconds(5));
        assertThat(remote.cut.getCount()).isZero();
    }

    /**
     * A stop that does not cut anything short (the deliveries end within the drain), as when a start that failed to bind
     * its port closes the queue it had started: what was deferred keeps its retry time. Making it due at once, every
     * restart of a loop every few seconds would try the same mail again, past its backoff and its lifetime.
     */
    @Test
    void aStopWithinTheDrainKeepsTheRetryTime() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        CountDownLatch delivering = new CountDownLatch(1);
        DeliveryAgent remote = (e, text, rs) -> {
            delivering.countDown();
            try {
                Thread.sleep(300);
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
            }
            return rs.stream().<DeliveryResult>map(r -> DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER, "451 later")).toList();
        };
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        queue = new QueueManager(spool, retriesAnHourAway(), local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        store(spool, relayed("x@later.test"));
        String id = spool.ids(QueueState.INCOMING).get(0);
        queue.start();
        assertThat(delivering.await(10, TimeUnit.SECONDS)).isTrue();
        queue.close();
        queue = null;
        assertThat(spool.state(id)).contains(QueueState.DEFERRED);
        assertThat(spool.nextAttempt(id)).isAfter(java.time.Instant.now().plus(Duration.ofMinutes(50)));
    }
}
