package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attempt at the end of a message's queue lifetime is the agent's last one ({@link DeliveryAgent#deliverLast}),
 * which tries next hops the host status table passes over: a primary MX back in the last hour of a backup's five days
 * had its held mail bounced without a connection. The attempts before it are ordinary ones; one that began before the
 * end and ended after it is followed by the last one, not by a bounce; a give-up of 0s has no last attempt.
 */
class LastAttemptTest {

    @TempDir
    Path dir;

    /** What the agent was asked and what was reported, for a remote recipient whose ordinary attempts defer. */
    private record Run(int ordinary, int last, List<RecipientStatus> reported) {}

    private Run run(RetryPolicy retry, Duration ordinaryTakes) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        AtomicInteger ordinary = new AtomicInteger();
        AtomicInteger last = new AtomicInteger();
        DeliveryAgent remote = new DeliveryAgent() {
            @Override
            public List<DeliveryResult> deliver(Envelope e, Path text, List<RecipientStatus> rs) {
                ordinary.incrementAndGet();
                try {
                    Thread.sleep(ordinaryTakes.toMillis());
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                }
                return rs.stream().<DeliveryResult>map(r -> DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER,
                        "every MX host of far.test failed recently and is passed over")).toList();
            }

            @Override
            public List<DeliveryResult> deliverLast(Envelope e, Path text, List<RecipientStatus> rs) {
                last.incrementAndGet();
                return rs.stream().<DeliveryResult>map(r -> new DeliveryResult.Delivered(EnhancedStatus.OK, "sent", Optional.empty(),
                        Optional.empty())).toList();
            }
        };
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local recipient");
        };
        List<RecipientStatus> reported = new CopyOnWriteArrayList<>();
        QueueManager queue = new QueueManager(spool, new QueueManager.Settings(2, 2, retry, Duration.ofMillis(100), 100),
                local, remote, (e, text, rs) -> reported.addAll(rs), Clock.systemUTC());
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("alice@here.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("bob@far.test"), RcptParameters.NONE, new Route.Relay("far.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: held\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        String id = ((MessageStore.StoreOutcome.Stored) spool.store(m, Envelope.Kind.MAIL)).queueId();
        try {
            queue.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> spool.state(id).isEmpty());
        } finally {
            queue.close();
        }
        return new Run(ordinary.get(), last.get(), reported);
    }

    @Test
    void theAttemptAtTheEndOfTheLifetimeIsTheLastOne() throws Exception {
        Run r = run(new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(1200)), Duration.ZERO);
        assertThat(r.ordinary()).as("ordinary attempts before the end").isGreaterThanOrEqualTo(2);
        assertThat(r.last()).as("one last attempt").isEqualTo(1);
        assertThat(r.reported()).as("delivered by it: no bounce").isEmpty();
    }

    @Test
    void anAttemptThatOutlastsTheLifetimeIsFollowedByTheLastOne() throws Exception {
        Run r = run(new RetryPolicy(Duration.ofMillis(400), Duration.ofMillis(400), Duration.ofMillis(300)), Duration.ofMillis(600));
        assertThat(r.ordinary()).isEqualTo(1);
        assertThat(r.last()).isEqualTo(1);
        assertThat(r.reported()).isEmpty();
    }

    @Test
    void aGiveUpOfZeroHasNoLastAttempt() throws Exception {
        Run r = run(new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ZERO), Duration.ZERO);
        assertThat(r.ordinary()).isEqualTo(1);
        assertThat(r.last()).isZero();
        assertThat(r.reported()).singleElement().satisfies(s -> assertThat(s.state()).isEqualTo(DeliveryState.FAILED));
    }
}
