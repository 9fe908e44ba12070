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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
            return address.startsWith("gone@")
                    ? DeliveryResult.Failed.of(EnhancedStatus.PERMANENT_FAILURE, "550 5.1.1 no such user")
                    : (DeliveryResult) new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
        }).toList();
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        AtomicInteger noticeCalls = new AtomicInteger();
        List<String> noticed = new CopyOnWriteArrayList<>();
        DeliveryNotices notices = (e, text, reported) -> {
            if (noticeCalls.incrementAndGet() <= 2) {
                throw new IOException("No space left on device"); // the spool cannot take the bounce yet
            }
            reported.forEach(r -> noticed.add(r.recipient().address().toString()));
        };
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, notices, Clock.systemUTC());
        queue.start();

        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(recipient("here@far.test"), recipient("gone@far.test")),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(spool.store(m)).isInstanceOf(StoreOutcome.Stored.class);

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> noticed.size() == 1 && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0
                && spool.count(QueueState.ACTIVE) == 0);
        assertThat(noticeCalls.get()).isEqualTo(3);
        assertThat(noticed).containsExactly("gone@far.test");
        assertThat(deliveries.get("here@far.test").get()).as("copies of the delivered recipient").isEqualTo(1);
        assertThat(deliveries.get("gone@far.test").get()).as("attempts of the failed recipient").isEqualTo(1);
    }

    private static Recipient recipient(String address) {
        return new Recipient(Mailbox.parse(address), RcptParameters.NONE, new Route.Relay("far.test"));
    }
}
