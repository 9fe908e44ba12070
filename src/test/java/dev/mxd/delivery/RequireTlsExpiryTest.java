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
import dev.mxd.smtp.SmtpReply;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A REQUIRETLS message (RFC 8689) that expires is returned with 5.7.10 only when TLS kept it from its hosts.
 * A server that greylisted it until the end (450 4.7.1, its own status) told nothing about TLS: the sender was
 * told "encryption needed" although every session was encrypted. Now 4.4.7, with the server's reply quoted.
 */
class RequireTlsExpiryTest {

    private static String expiredNotice(Path dir, DeliveryResult.Deferred everyAttempt) throws Exception {
        return expiredNotice(dir, everyAttempt, Optional.of(Mailbox.parse("alice@here.test")), dev.mxd.queue.Envelope.Kind.MAIL);
    }

    private static String expiredNotice(Path dir, DeliveryResult.Deferred everyAttempt, Optional<Mailbox> sender,
                                        dev.mxd.queue.Envelope.Kind kind) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        DsnNotices dsn = new DsnNotices("mx.test", spool,
                m -> m.domainKey().equals("here.test") ? Optional.of(new Route.Local("here.test", List.of(m.localKey()))) : Optional.empty(),
                new Recipient(Mailbox.parse("postmaster@here.test"), RcptParameters.NONE, new Route.Local("here.test", List.of("postmaster"))),
                new DsnWriter(), Clock.systemUTC());
        DeliveryAgent remote = (e, text, rs) -> rs.stream().<DeliveryResult>map(r -> everyAttempt).toList();
        List<String> notices = new CopyOnWriteArrayList<>();
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
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(1200)), Duration.ofMillis(100), 100),
                local, remote, dsn, Clock.systemUTC());
        ReceivedMessage m = new ReceivedMessage(sender, MailParameters.NONE.withRequireTls(true),
                List.of(new Recipient(Mailbox.parse("bob@far.test"), RcptParameters.NONE, new Route.Relay("far.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: secret\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        String id = ((MessageStore.StoreOutcome.Stored) spool.store(m, kind)).queueId();
        try {
            queue.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> spool.state(id).isEmpty() && notices.size() == 1);
        } finally {
            queue.close();
        }
        return notices.get(0);
    }

    @Test
    void aServerThatGreylistedUntilTheEndIsNoTlsTrouble(@TempDir Path dir) throws Exception {
        SmtpReply greylisted = SmtpReply.of(450, new EnhancedStatus(4, 7, 1), "greylisted, try again later");
        String notice = expiredNotice(dir, new DeliveryResult.Deferred(new EnhancedStatus(4, 7, 1), "mx.far.test said: "
                + greylisted.summary(), Optional.of("mx.far.test"), Optional.of(greylisted), false, Optional.empty()));
        assertThat(notice).contains("Status: 4.4.7").doesNotContain("Status: 5.7.10").contains("greylisted");
    }

    /**
     * mxd's own notice of a REQUIRETLS message that fails in turn goes to the postmaster whole: it holds the original's
     * header only, and its report names the recipients the sender was never told of (it came back as its header only).
     */
    @Test
    void aFailedNoticeOfARequireTlsMessageReachesThePostmasterWhole(@TempDir Path dir) throws Exception {
        String notice = expiredNotice(dir, new DeliveryResult.Deferred(EnhancedStatus.CRYPTOGRAPHIC_FAILURE,
                "mx.far.test: TLS handshake failed", Optional.empty(), Optional.empty(), false, Optional.empty()),
                Optional.empty(), dev.mxd.queue.Envelope.Kind.SENDER_NOTICE);
        assertThat(notice).contains("message/rfc822").contains("Subject: secret").contains("hi");
    }

    @Test
    void aTlsPolicyThatKeptTheMessageFromEveryHostIs5710(@TempDir Path dir) throws Exception {
        String notice = expiredNotice(dir, new DeliveryResult.Deferred(EnhancedStatus.CRYPTOGRAPHIC_FAILURE,
                "mx.far.test: TLS handshake failed", Optional.empty(), Optional.empty(), false, Optional.empty()));
        assertThat(notice).contains("Status: 5.7.10");
        // RFC 8689 §5: a REQUIRETLS message comes back as its header only, RET=FULL or not
        assertThat(notice).contains("text/rfc822-headers").contains("Subject: secret").doesNotContain("message/rfc822");
    }
}
