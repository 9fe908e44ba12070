package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryAgent;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.QueueManager;
import dev.mxd.queue.RetryPolicy;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 * A queued message whose text is gone (removed by hand, or unreadable after a disk error): every attempt
 * defers on it, and when its queue lifetime ends its sender gets the failure notice without the text,
 * saying so. The notice used to fail on reading the text too, and the message was retried for ever
 * without its sender ever being told.
 */
class UnreadableTextNoticeTest {

    @Test
    void aMessageWhoseTextIsGoneIsReturnedWithoutItWhenItExpires(@TempDir Path dir) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        DsnNotices dsn = new DsnNotices("mx.test", spool,
                m -> m.domainKey().equals("here.test") ? Optional.of(new Route.Local("here.test", List.of(m.localKey()))) : Optional.empty(),
                new Recipient(Mailbox.parse("postmaster@here.test"), RcptParameters.NONE, new Route.Local("here.test", List.of("postmaster"))),
                new DsnWriter(), Clock.systemUTC());
        AtomicInteger attempts = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            attempts.incrementAndGet();
            return rs.stream().<DeliveryResult>map(r -> Files.isReadable(text)
                    ? DeliveryResult.Deferred.of(EnhancedStatus.TEMPORARY_FAILURE, "451 try later")
                    : DeliveryResult.Deferred.of(EnhancedStatus.TEMPORARY_FAILURE, "cannot read the spooled message")).toList();
        };
        List<String> notices = new CopyOnWriteArrayList<>(); // what the local agent was given to deliver to alice
        DeliveryAgent local = (e, text, rs) -> {
            try {
                notices.add(new String(Files.readAllBytes(text), 0, (int) e.size(), StandardCharsets.UTF_8));
            } catch (java.io.IOException unreadable) {
                throw new java.io.UncheckedIOException(unreadable);
            }
            return rs.stream().<DeliveryResult>map(r ->
                    new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty())).toList();
        };
        QueueManager queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(1500)), Duration.ofMillis(100), 100),
                local, remote, dsn, Clock.systemUTC());
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("alice@here.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("bob@far.test"), RcptParameters.NONE, new Route.Relay("far.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: lost text\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        String id = ((MessageStore.StoreOutcome.Stored) spool.store(m)).queueId();
        try {
            queue.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() >= 1);
            Files.deleteIfExists(spool.text(id)); // the text is gone; the envelope stays
            await().atMost(Duration.ofSeconds(15)).until(() -> spool.state(id).isEmpty() && notices.size() == 1);
        } finally {
            queue.close();
        }
        assertThat(attempts.get()).isGreaterThan(1);
        assertThat(notices).singleElement().satisfies(text -> assertThat(text)
                .contains("Final-Recipient: rfc822; bob@far.test").contains("Action: failed").contains("Status: 4.4.7")
                .contains("could not be read").doesNotContain("message/rfc822").doesNotContain("text/rfc822-headers"));
    }
}
