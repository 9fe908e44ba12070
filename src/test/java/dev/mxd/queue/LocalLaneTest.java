package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Mail for a local mailbox is delivered while every worker waits on remote deliveries (silent DNS servers, slow next
 * hops): it has a lane of its own, as Postfix's local transport has a process limit of its own. Before, it waited behind
 * them in the one queue of the workers (a live run measured 289 s for one local message behind 200 messages of 100
 * silent domains each).
 */
class LocalLaneTest extends QueueManagerTestBase {

    @Test
    void localMailIsDeliveredWhileEveryWorkerWaitsOnRemoteDeliveries() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        CountDownLatch remoteHangs = new CountDownLatch(1);
        AtomicInteger remoteEntered = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            remoteEntered.incrementAndGet();
            try {
                remoteHangs.await(30, TimeUnit.SECONDS); // an MX lookup no DNS server answers, say
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
            }
            return rs.stream().<DeliveryResult>map(r -> new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(),
                    Optional.empty())).toList();
        };
        List<String> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent local = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> {
            delivered.add(r.recipient().address().toString());
            return new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty());
        }).toList();
        DeliveryNotices notices = (e, text, reported) -> { };
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, notices, Clock.systemUTC());
        queue.start();
        try {
            for (int i = 0; i < 4; i++) {
                store(spool, relayed("someone@silent" + i + ".test"));
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> remoteEntered.get() == 2); // both workers held
            store(spool, new Recipient(Mailbox.parse("alice@example.test"), RcptParameters.NONE,
                    new Route.Local("example.test", List.of("alice"))));
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> delivered.contains("alice@example.test"));
            assertThat(remoteEntered.get()).as("the remote deliveries still wait").isEqualTo(2);
        } finally {
            remoteHangs.countDown();
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> queue.idle() && drained(spool));
        assertThat(remoteEntered.get()).isEqualTo(4);
        assertThat(delivered).containsExactly("alice@example.test");
    }
}
