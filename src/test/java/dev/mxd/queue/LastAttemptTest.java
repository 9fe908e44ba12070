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
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attempt at the end of a message's queue lifetime is the agent's last one ({@link DeliveryAgent#deliverLast}),
 * which tries next hops the host status table passes over: a primary MX back in the last hour of a backup's five days
 * had its held mail bounced without a connection. The attempts before it are ordinary ones.
 */
class LastAttemptTest {

    @Test
    void theAttemptAtTheEndOfTheLifetimeIsTheLastOne(@TempDir Path dir) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        AtomicInteger ordinary = new AtomicInteger();
        AtomicInteger last = new AtomicInteger();
        DeliveryAgent remote = new DeliveryAgent() {
            @Override
            public List<DeliveryResult> deliver(Envelope e, Path text, List<RecipientStatus> rs) {
                ordinary.incrementAndGet();
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
            throw new AssertionError("no notice is due: the last attempt delivered it");
        };
        QueueManager queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(1200)), Duration.ofMillis(100), 100),
                local, remote, null, Clock.systemUTC());
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
        assertThat(ordinary.get()).as("ordinary attempts before the end").isGreaterThanOrEqualTo(2);
        assertThat(last.get()).as("one last attempt").isEqualTo(1);
    }
}
