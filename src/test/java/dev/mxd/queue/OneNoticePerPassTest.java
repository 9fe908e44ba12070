package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A message whose recipients at several domains fail in the same pass gets one notice naming them
 * all, as Postfix's queue manager sends one bounce per message and pass; before, each domain's
 * attempt sent its own, so the sender got one bounce per domain.
 */
class OneNoticePerPassTest extends QueueManagerTestBase {

    @Test
    void failuresAtSeveralDomainsGoInOneNotice() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        List<String> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent remote = (e, text, rs) -> rs.stream().map(r -> {
            String address = r.recipient().address().toString();
            if (address.startsWith("gone@")) {
                return DeliveryResult.Failed.of(EnhancedStatus.PERMANENT_FAILURE, "550 5.1.1 no such user");
            }
            delivered.add(address);
            return (DeliveryResult) new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
        }).toList();
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        List<List<String>> notices = new CopyOnWriteArrayList<>();
        DeliveryNotices notify = (e, text, reported) -> notices.add(reported.stream().map(r -> r.recipient().address().toString()).toList());
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, notify, Clock.systemUTC());
        queue.start();

        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(recipient("gone@x.test"), recipient("here@y.test"), recipient("gone@z.test")),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(spool.store(m)).isInstanceOf(StoreOutcome.Stored.class);

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !notices.isEmpty() && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0 && spool.count(QueueState.ACTIVE) == 0);
        assertThat(notices).singleElement().satisfies(n -> assertThat(n).containsExactlyInAnyOrder("gone@x.test", "gone@z.test"));
        assertThat(delivered).containsExactly("here@y.test");
    }

    /**
     * A later destination that throws (an agent's bug, an Error) after an earlier one failed a
     * recipient: the notice owed and the real states stay in memory, so the next attempt sends
     * that notice and records the failure before it delivers anything; the failed recipient is
     * not tried again, and no recipient is delivered twice.
     */
    @Test
    void aLaterDestinationThatThrowsLosesNoNoticeAndRetriesNothingDone() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
        AtomicInteger yCalls = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            if (rs.get(0).recipient().address().domain().equals("y.test") && yCalls.incrementAndGet() == 1) {
                throw new IllegalStateException("an agent's bug, once");
            }
            return rs.stream().map(r -> {
                String address = r.recipient().address().toString();
                attempts.computeIfAbsent(address, k -> new AtomicInteger()).incrementAndGet();
                return address.startsWith("gone@")
                        ? DeliveryResult.Failed.of(EnhancedStatus.PERMANENT_FAILURE, "550 5.1.1 no such user")
                        : (DeliveryResult) new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
            }).toList();
        };
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        List<List<String>> notices = new CopyOnWriteArrayList<>();
        DeliveryNotices notify = (e, text, reported) -> notices.add(reported.stream().map(r -> r.recipient().address().toString()).toList());
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, notify, Clock.systemUTC());
        queue.start();

        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(recipient("gone@x.test"), recipient("here@y.test")),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(spool.store(m)).isInstanceOf(StoreOutcome.Stored.class);

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> yCalls.get() >= 2 && queue.idle()
                && spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0 && spool.count(QueueState.ACTIVE) == 0);
        assertThat(notices).containsExactly(List.of("gone@x.test"));
        assertThat(attempts.get("gone@x.test").get()).as("attempts of the failed recipient").isEqualTo(1);
        assertThat(attempts.get("here@y.test").get()).as("copies of the delivered one").isEqualTo(1);
    }

    private static Recipient recipient(String address) {
        String domain = address.substring(address.indexOf('@') + 1);
        return new Recipient(Mailbox.parse(address), RcptParameters.NONE, new Route.Relay(domain));
    }
}
