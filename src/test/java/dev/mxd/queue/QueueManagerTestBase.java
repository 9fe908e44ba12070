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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A spool directory of its own for each test, and the queue manager a test starts on it, closed after the test. */
abstract class QueueManagerTestBase {

    @TempDir
    Path dir;

    QueueManager queue;

    @AfterEach
    void closeQueue() {
        if (queue != null) {
            queue.close();
        }
    }

    /** Starts {@link #queue} on {@code spool} for remote mail only (a local delivery fails the test), retrying after 200-400 ms. */
    void startRemoteOnly(Spool spool, DeliveryAgent remote, DeliveryNotices notices) throws IOException {
        startRemoteOnly(spool, remote, notices, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100));
    }

    /** As above, with {@code settings} of the test's own. */
    void startRemoteOnly(Spool spool, DeliveryAgent remote, DeliveryNotices notices, QueueManager.Settings settings) throws IOException {
        DeliveryAgent local = (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
        queue = new QueueManager(spool, settings, local, remote, notices, Clock.systemUTC());
        queue.start();
    }

    /** Settings whose retries are an hour away: what one attempt leaves is what the test sees. */
    static QueueManager.Settings retriesAnHourAway() {
        return new QueueManager.Settings(4, 2, new RetryPolicy(Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(5)),
                Duration.ofSeconds(30), 100);
    }

    /** Stores a short message from a@b.test to {@code recipients}. */
    static void store(Spool spool, Recipient... recipients) {
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE, List.of(recipients),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(spool.store(m)).isInstanceOf(StoreOutcome.Stored.class);
    }

    /** A recipient relayed to its own domain. */
    static Recipient relayed(String address) {
        return new Recipient(Mailbox.parse(address), RcptParameters.NONE, new Route.Relay(address.substring(address.indexOf('@') + 1)));
    }

    /** What the scripted next hop answers: a recipient named gone@ is refused for good, any other delivered. */
    static DeliveryResult goneFailsOthersDelivered(String address) {
        return address.startsWith("gone@")
                ? DeliveryResult.Failed.of(EnhancedStatus.PERMANENT_FAILURE, "550 5.1.1 no such user")
                : new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
    }

    /** Nothing left in incoming/, active/ or deferred/. */
    static boolean drained(Spool spool) throws IOException {
        return spool.count(QueueState.DEFERRED) == 0 && spool.count(QueueState.INCOMING) == 0 && spool.count(QueueState.ACTIVE) == 0;
    }
}
