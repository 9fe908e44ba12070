package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The spool hands a message it has just accepted to the queue manager with the envelope it
 * wrote, so the first attempt does not read the file back. The agent must get exactly the
 * envelope the disk holds (the JSON keeps less than the transaction in memory: no SIZE, no TLS
 * details, no client name), and a message the operator moved before its first attempt is taken
 * from where it is on disk, not from the envelope handed over.
 */
class AcceptedEnvelopeTest extends QueueManagerTestBase {

    private static final DeliveryResult OK = new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());

    @Test
    void theFirstAttemptGetsTheEnvelopeAsOnDisk() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, Envelope> onDisk = new ConcurrentHashMap<>();
        // Registered before the queue manager: runs first, while the envelope is in incoming/.
        spool.onAccepted(id -> {
            try {
                onDisk.put(id, spool.envelope(QueueState.INCOMING, id));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
        List<Envelope> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent remote = (e, text, rs) -> {
            delivered.add(e);
            return rs.stream().map(r -> OK).toList();
        };
        queue = queue(spool, remote);
        queue.start();

        MailParameters params = new MailParameters(OptionalLong.of(1234), MailParameters.Body.EIGHT_BIT_MIME, true,
                Optional.of(DsnReturn.HDRS), Optional.of("env+1"), true);
        Recipient r1 = new Recipient(Mailbox.parse("one@far.test"),
                new RcptParameters(EnumSet.of(DsnNotify.FAILURE, DsnNotify.DELAY), Optional.of("rfc822;one@far.test")), new Route.Relay("far.test"));
        Recipient r2 = new Recipient(Mailbox.parse("two@far.test"), RcptParameters.NONE, new Route.Relay("far.test"));
        ClientInfo client = new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, true,
                Optional.of("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"), Optional.of("client.test"));
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), params, List.of(r1, r2), client, Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        StoreOutcome outcome = spool.store(m);
        assertThat(outcome).isInstanceOf(StoreOutcome.Stored.class);
        String id = ((StoreOutcome.Stored) outcome).queueId();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> delivered.size() == 1 && queue.idle());
        assertThat(delivered.get(0)).isEqualTo(onDisk.get(id));
        assertThat(delivered.get(0).client().tlsDetails()).as("not kept on disk, so not handed over either").isEmpty();
        assertThat(spool.state(id)).isEmpty();
    }

    @Test
    void anEnvelopeTooLargeToKeepIsReadFromDiskAndDeliveredAllTheSame() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, Envelope> onDisk = new ConcurrentHashMap<>();
        spool.onAccepted(id -> {
            try {
                onDisk.put(id, spool.envelope(QueueState.INCOMING, id));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
        List<Envelope> delivered = new CopyOnWriteArrayList<>();
        queue = queue(spool, (e, text, rs) -> {
            delivered.add(e);
            return rs.stream().map(r -> OK).toList();
        });
        queue.start();

        List<Recipient> many = new java.util.ArrayList<>();
        for (int i = 0; i < 80; i++) {
            many.add(new Recipient(Mailbox.parse("recipient-number-" + i + "@far.test"), RcptParameters.NONE, new Route.Relay("far.test")));
        }
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE, many,
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false),
                Instant.now(), "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        String id = ((StoreOutcome.Stored) spool.store(m)).queueId();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> delivered.size() == 1 && queue.idle());
        assertThat(EnvelopeJson.write(onDisk.get(id)).length).as("larger than what is kept in memory")
                .isGreaterThan(QueueManager.KEPT_ENVELOPE_BYTES);
        assertThat(delivered.get(0)).isEqualTo(onDisk.get(id));
        assertThat(delivered.get(0).recipients()).hasSize(80);
        assertThat(spool.state(id)).isEmpty();
    }

    @Test
    void aMessageHeldBeforeItsFirstAttemptIsNotDelivered() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        List<String> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent remote = (e, text, rs) -> {
            first.countDown();
            try {
                goOn.await(20, TimeUnit.SECONDS); // holds the only worker while the second message waits
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            delivered.add(e.id());
            return rs.stream().map(r -> OK).toList();
        };
        queue = queue(spool, remote);
        queue.start();

        String a = store(spool, "a@far.test");
        assertThat(first.await(20, TimeUnit.SECONDS)).isTrue();
        String b = store(spool, "b@far.test"); // handed over with its envelope, waiting for the worker
        assertThat(queue.hold(b)).isInstanceOf(QueueChange.Done.class);
        goOn.countDown();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> delivered.contains(a) && queue.idle());
        assertThat(delivered).containsExactly(a);
        assertThat(spool.state(b)).contains(QueueState.HOLD);

        assertThat(queue.release(b)).isInstanceOf(QueueChange.Done.class);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> delivered.contains(b) && queue.idle());
        assertThat(spool.state(b)).isEmpty();
    }

    /** Set aside for a busy destination, then held: the envelope handed over is not used once the message moved. */
    @Test
    void aMessageWaitingForItsDestinationAndHeldMeanwhileIsNotDelivered() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        List<String> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent remote = (e, text, rs) -> {
            first.countDown();
            try {
                goOn.await(20, TimeUnit.SECONDS); // holds the destination's only slot
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            delivered.add(e.id());
            return rs.stream().map(r -> OK).toList();
        };
        queue = new QueueManager(spool, new QueueManager.Settings(2, 1,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMinutes(10), 100),
                (e, text, rs) -> {
                    throw new AssertionError("no local mail in this test");
                }, remote, (e, text, reported) -> {
                    throw new AssertionError("no notices in this test");
                }, Clock.systemUTC());
        queue.start();

        String a = store(spool, "a@far.test");
        assertThat(first.await(20, TimeUnit.SECONDS)).isTrue();
        // The second worker sets it aside (far.test's slot is taken), keeping the envelope handed over; held before
        // or after that, it is not delivered either way.
        String b = store(spool, "b@far.test");
        assertThat(queue.hold(b)).isInstanceOf(QueueChange.Done.class);
        goOn.countDown();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> delivered.contains(a) && queue.idle());
        assertThat(delivered).containsExactly(a);
        assertThat(spool.state(b)).contains(QueueState.HOLD);
    }

    private QueueManager queue(Spool spool, DeliveryAgent remote) {
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        DeliveryNotices notices = (e, text, reported) -> {
            throw new AssertionError("no notices in this test");
        };
        return new QueueManager(spool, new QueueManager.Settings(1, 1,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100),
                local, remote, notices, Clock.systemUTC());
    }

    private static String store(Spool spool, String to) {
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse(to), RcptParameters.NONE, new Route.Relay("far.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        StoreOutcome outcome = spool.store(m);
        assertThat(outcome).isInstanceOf(StoreOutcome.Stored.class);
        return ((StoreOutcome.Stored) outcome).queueId();
    }
}
