package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.smtp.EnhancedStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A deferral whose cause lifts at a known time (every MX host passed over while another delivery
 * probes one, which will soon tell whether it is back) brings the message back then, not at the
 * time its age gives (up to an hour): a backup MX's held mail follows its primary back. The hint
 * only ever shortens the wait.
 */
class RetryByTest extends QueueManagerTestBase {

    @Test
    void aDeferralThatSaysWhenItsCauseLiftsIsTriedAgainThen() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        AtomicInteger calls = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> calls.incrementAndGet() == 1
                ? new DeliveryResult.Deferred(EnhancedStatus.NO_ANSWER, "every MX host is passed over", Optional.empty(), Optional.empty(),
                        false, Optional.empty(), Optional.of(Instant.now().plusSeconds(1)))
                : new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty())).toList();
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        // the message's own next attempt would be an hour away
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(5)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        store(spool, relayed("held@primary.test"));
        queue.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> drained(spool));
        assertThat(calls.get()).isEqualTo(2);
    }

    /**
     * One destination's hint (its MX probed by another delivery) beside another's plain deferral (a server's 421): the
     * message keeps its own next attempt, so the server that just deferred it is not asked again within seconds.
     */
    @Test
    void aHintForOneDestinationDoesNotBringAnotherDestinationsServerBackSooner() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        DeliveryAgent remote = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> r.recipient().address().domainKey()
                .equals("probed.test")
                ? new DeliveryResult.Deferred(EnhancedStatus.NO_ANSWER, "every MX host is passed over", Optional.empty(),
                        Optional.empty(), false, Optional.empty(), Optional.of(Instant.now().plusSeconds(1)))
                : DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER, "421 4.3.2 try later")).toList();
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(5)), Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> { }, Clock.systemUTC());
        store(spool, relayed("held@probed.test"), relayed("bob@busy.test"));
        queue.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.ids(QueueState.DEFERRED).size() == 1);
        String id = spool.ids(QueueState.DEFERRED).get(0);
        assertThat(spool.nextAttempt(id)).as("the message's own time, an hour away").isAfter(Instant.now().plus(Duration.ofMinutes(50)));
    }
}
