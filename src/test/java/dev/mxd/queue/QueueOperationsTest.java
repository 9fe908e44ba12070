package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.MessageStore.StoreOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's commands on the queue manager (hold, release, flush, delete), on a queue manager
 * that is not started, so nothing delivers behind the test's back and every state is the test's.
 */
class QueueOperationsTest {

    @TempDir
    Path dir;

    Spool spool;
    QueueManager queue;

    @BeforeEach
    void open() throws Exception {
        spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        DeliveryAgent never = (e, text, rs) -> {
            throw new AssertionError("nothing is delivered in this test");
        };
        queue = new QueueManager(spool, QueueManager.Settings.defaults(), never, never, (e, t, r) -> { }, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        queue.close();
    }

    String stored() {
        return ((StoreOutcome.Stored) spool.store(SpoolTest.message("Subject: x\r\n\r\nhi\r\n"))).queueId();
    }

    @Test
    void holdThenReleaseMakesTheMessageDueNow() throws Exception {
        String id = stored();
        assertThat(queue.hold(id)).isEqualTo(new QueueChange.Done(id, QueueState.INCOMING, Optional.of(QueueState.HOLD)));
        assertThat(spool.state(id)).contains(QueueState.HOLD);
        assertThat(queue.flush(id)).isInstanceOf(QueueChange.Refused.class);
        Instant before = Instant.now().minusSeconds(1);
        assertThat(queue.release(id)).isEqualTo(new QueueChange.Done(id, QueueState.HOLD, Optional.of(QueueState.DEFERRED)));
        assertThat(spool.state(id)).contains(QueueState.DEFERRED);
        assertThat(spool.nextAttempt(id)).isAfter(before).isBefore(Instant.now().plusSeconds(1));
        assertThat(queue.release(id)).isInstanceOfSatisfying(QueueChange.Refused.class,
                r -> assertThat(r.reason()).contains("not on hold (it is deferred)"));
    }

    @Test
    void flushOneDeferredMessageSetsItsDueTimeToNow() throws Exception {
        String id = stored();
        spool.defer(id, QueueState.INCOMING, Instant.now().plusSeconds(3600));
        assertThat(queue.flush(id)).isEqualTo(new QueueChange.Done(id, QueueState.DEFERRED, Optional.of(QueueState.DEFERRED)));
        assertThat(spool.nextAttempt(id)).isBefore(Instant.now().plusSeconds(1));
        assertThat(spool.due(Instant.now().plusMillis(10), 10)).containsExactly(id);
    }

    /**
     * A flush of a held message is refused, and must do nothing else: it told the remote agent to
     * forget the failures of the message's MX hosts first (DNS lookups, and every other message to
     * those hosts then tried a dead host again), then answered "on hold".
     */
    @Test
    void aRefusedFlushOfAHeldMessageForgetsNoHost() throws Exception {
        List<java.util.Set<String>> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        queue.onFlush(new FlushListener() {
            @Override
            public void flushedAll() {
                told.add(java.util.Set.of("*"));
            }

            @Override
            public void flushed(java.util.Set<String> destinations) {
                told.add(destinations);
            }
        });
        String id = ((StoreOutcome.Stored) spool.store(new dev.mxd.mail.ReceivedMessage(
                Optional.of(dev.mxd.smtp.Mailbox.parse("a@b.test")), dev.mxd.smtp.MailParameters.NONE,
                List.of(new dev.mxd.mail.Recipient(dev.mxd.smtp.Mailbox.parse("bob@far.test"), dev.mxd.smtp.RcptParameters.NONE,
                        new dev.mxd.mail.Route.Relay("far.test"))),
                new dev.mxd.mail.ClientInfo(new java.net.InetSocketAddress("127.0.0.1", 40000), "client.test", true, false),
                Instant.now(), "Subject: x\r\n\r\nhi\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)))).queueId();
        spool.defer(id, QueueState.INCOMING, Instant.now().plusSeconds(3600));
        assertThat(queue.hold(id)).isInstanceOf(QueueChange.Done.class);
        assertThat(queue.flush(id)).isInstanceOf(QueueChange.Refused.class);
        assertThat(told).as("hosts forgotten for a refused flush").isEmpty();
        assertThat(queue.release(id)).isInstanceOf(QueueChange.Done.class);
        assertThat(queue.flush(id)).isInstanceOf(QueueChange.Done.class);
        assertThat(told).containsExactly(java.util.Set.of("far.test"));
    }

    @Test
    void flushAllMakesEveryDeferredMessageDue() throws Exception {
        String a = stored();
        String b = stored();
        spool.defer(a, QueueState.INCOMING, Instant.now().plusSeconds(3600));
        spool.defer(b, QueueState.INCOMING, Instant.now().plusSeconds(7200));
        assertThat(queue.flush()).isEqualTo(2);
        assertThat(spool.due(Instant.now().plusMillis(10), 10)).containsExactlyInAnyOrder(a, b);
    }

    /**
     * One envelope that cannot be dated (another user's file, left by a run as root; staged with chattr +i, which stops
     * root too) keeps neither the rest from being made due nor the operator from hearing which: the flush stopped at it,
     * and every message listed after it kept its time.
     */
    @Test
    void flushAllGoesPastAnEnvelopeItCannotDate() throws Exception {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String id = stored();
            spool.defer(id, QueueState.INCOMING, Instant.now().plusSeconds(3600));
            ids.add(id);
        }
        List<String> listed = spool.ids(QueueState.DEFERRED);
        String stuck = listed.get(1);
        Path envelope = dir.resolve("deferred").resolve(stuck + ".json");
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", List.of(envelope)),
                "chattr +i needs root on a file system with attributes");
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(queue::flush).isInstanceOf(java.io.IOException.class)
                    .hasMessageStartingWith("4 message(s) made due; 1 could not be: " + envelope + ": Operation not permitted");
            List<String> others = new java.util.ArrayList<>(ids);
            others.remove(stuck);
            assertThat(spool.due(Instant.now().plusMillis(10), 10)).containsExactlyInAnyOrderElementsOf(others);
        } finally {
            assertThat(dev.mxd.testing.Chattr.change("-i", List.of(envelope))).isTrue();
        }
    }

    @Test
    void deleteRemovesEnvelopeAndText() throws Exception {
        String id = stored();
        spool.defer(id, QueueState.INCOMING, Instant.now().plusSeconds(60));
        assertThat(queue.delete(id)).isEqualTo(new QueueChange.Done(id, QueueState.DEFERRED, Optional.empty()));
        assertThat(spool.state(id)).isEmpty();
        assertThat(Files.exists(spool.text(id))).isFalse();
        assertThat(queue.delete(id)).isEqualTo(new QueueChange.NoSuchMessage(id));
        assertThat(queue.hold(id)).isEqualTo(new QueueChange.NoSuchMessage(id));
    }

    @Test
    void aMessageBeingDeliveredIsNeverTouched() throws Exception {
        String id = stored();
        spool.move(id, QueueState.INCOMING, QueueState.ACTIVE); // as the queue manager does when it takes it
        for (QueueChange c : List.of(queue.delete(id), queue.hold(id), queue.flush(id))) {
            assertThat(c).isInstanceOfSatisfying(QueueChange.Refused.class, r -> {
                assertThat(r.state()).isEqualTo(QueueState.ACTIVE);
                assertThat(r.reason()).contains("being delivered right now");
            });
        }
        assertThat(spool.state(id)).contains(QueueState.ACTIVE);
        assertThat(Files.exists(spool.text(id))).isTrue();
    }

    @Test
    void countsAndArrivalComeFromDirectoriesAndIds() throws Exception {
        Instant before = Instant.now().minusMillis(1);
        String id = stored();
        stored();
        assertThat(spool.count(QueueState.INCOMING)).isEqualTo(2);
        assertThat(spool.count(QueueState.HOLD)).isZero();
        assertThat(Spool.arrivalOf(id)).hasValueSatisfying(t -> assertThat(t).isAfter(before).isBefore(Instant.now().plusMillis(1)));
        assertThat(Spool.arrivalOf("x")).isEmpty();
    }
}
