package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * An attempt whose outcomes cannot be written (the disk is full when the bounce is spooled, found
 * by the pipeline model with seed 178): the recipient that was delivered is not delivered again
 * at the next attempt, and the failed one's notice is sent once the disk has room. Before, the
 * envelope on disk still said "to deliver" and the next attempt delivered a second copy.
 */
class UnrecordedOutcomeTest extends QueueManagerTestBase {

    @Test
    void outcomesThatCouldNotBeWrittenAreRecordedBeforeAnythingIsDeliveredAgain() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        DeliveryAgent remote = (e, text, rs) -> rs.stream().map(r -> {
            String address = r.recipient().address().toString();
            deliveries.computeIfAbsent(address, k -> new AtomicInteger()).incrementAndGet();
            return goneFailsOthersDelivered(address);
        }).toList();
        AtomicInteger noticeCalls = new AtomicInteger();
        List<String> noticed = new CopyOnWriteArrayList<>();
        DeliveryNotices notices = (e, text, reported) -> {
            if (noticeCalls.incrementAndGet() <= 2) {
                throw new IOException("No space left on device"); // the spool cannot take the bounce yet
            }
            reported.forEach(r -> noticed.add(r.recipient().address().toString()));
        };
        startRemoteOnly(spool, remote, notices);
        store(spool, relayed("here@far.test"), relayed("gone@far.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> noticed.size() == 1 && queue.idle() && drained(spool));
        assertThat(noticeCalls.get()).isEqualTo(3);
        assertThat(noticed).containsExactly("gone@far.test");
        assertThat(deliveries.get("here@far.test").get()).as("copies of the delivered recipient").isEqualTo(1);
        assertThat(deliveries.get("gone@far.test").get()).as("attempts of the failed recipient").isEqualTo(1);
    }

    /**
     * A message whose queue lifetime ends while its bounce cannot be spooled (a full disk, twice) is bounced once the disk
     * has room, and its recipient is logged and counted as bounced once: each failed try logged it again before.
     */
    @Test
    void anExpiryWhoseBounceFailsIsLoggedOnceItIsSent() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        DeliveryAgent remote = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> DeliveryResult.Deferred.of(
                dev.mxd.smtp.EnhancedStatus.TEMPORARY_FAILURE, "450 4.2.0 greylisted")).toList();
        AtomicInteger noticeCalls = new AtomicInteger();
        List<String> noticed = new CopyOnWriteArrayList<>();
        DeliveryNotices notices = (e, text, reported) -> {
            if (noticeCalls.incrementAndGet() <= 2) {
                throw new IOException("No space left on device");
            }
            reported.forEach(r -> noticed.add(r.recipient().address().toString()));
        };
        startRemoteOnly(spool, remote, notices, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(300)), Duration.ofMillis(100), 100));
        List<DeliveryEvent> bounced = new CopyOnWriteArrayList<>();
        queue.onDelivery(event -> {
            if (event.outcome() == DeliveryEvent.Outcome.BOUNCED) {
                bounced.add(event);
            }
        });
        store(spool, relayed("late@far.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> noticed.size() == 1 && queue.idle() && drained(spool));
        assertThat(noticeCalls.get()).isEqualTo(3);
        assertThat(bounced).extracting(DeliveryEvent::recipient).containsExactly("late@far.test");
    }
}
