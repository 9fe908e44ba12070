package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.RecipientStatus;
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
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The notices the postmaster gets: a failed notice (a double bounce) comes back whole even over the
 * 50,000-octet return limit, since its report names the recipients the sender was never told of (cut
 * to its header it named none); and the postmaster is the one the configuration in force names, asked
 * at each notice (it was fixed when the node started, whatever a SIGHUP said).
 */
class PostmasterNoticeTest {

    @Test
    void aLargeFailedNoticeComesWholeToThePostmasterOfTheMoment(@TempDir Path dir) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        AtomicReference<String> postmasterBox = new AtomicReference<>("alice");
        DsnNotices notices = new DsnNotices("mx.test", spool, m -> Optional.of(new Route.Relay(m.domainKey())),
                () -> new Recipient(Mailbox.parse(postmasterBox.get() + "@example.test"), RcptParameters.NONE,
                        new Route.Local("example.test", List.of(postmasterBox.get()))), new DsnWriter(), Clock.systemUTC());
        // The failed notice: its report part names r1..r100, and it is over 60,000 octets with the original it returns.
        StringBuilder notice = new StringBuilder("From: MAILER-DAEMON@mx.test\r\nTo: <sender@far.test>\r\nSubject: Undelivered\r\n\r\n");
        for (int i = 1; i <= 100; i++) {
            notice.append("Final-Recipient: rfc822; r").append(i).append("@dest.test\r\nAction: failed\r\n\r\n");
        }
        notice.append("x".repeat(70).concat("\r\n").repeat(900));
        Path text = Files.writeString(dir.resolve("notice"), notice, StandardCharsets.US_ASCII);
        assertThat(Files.size(text)).isGreaterThan(DsnWriter.DEFAULT_RETURN_LIMIT);

        postmasterBox.set("ops"); // a SIGHUP named another postmaster after the start
        Recipient sender = new Recipient(Mailbox.parse("sender@far.test"), RcptParameters.NONE, new Route.Relay("far.test"));
        RecipientStatus failed = new RecipientStatus(sender, DeliveryState.FAILED, "550 5.1.1 no such user", Instant.now(),
                Optional.of(EnhancedStatus.BAD_MAILBOX), Optional.of("mx.far.test[192.0.2.1]:25"));
        Envelope e = new Envelope("N1", Optional.empty(), MailParameters.NONE, List.of(failed),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 0), "localhost", true, false), Instant.now(), Files.size(text),
                Envelope.Kind.SENDER_NOTICE);
        notices.send(e, text, List.of(failed));

        List<String> queued = spool.ids(QueueState.INCOMING);
        assertThat(queued).hasSize(1);
        Envelope toPostmaster = spool.envelope(QueueState.INCOMING, queued.get(0));
        assertThat(toPostmaster.recipients()).singleElement()
                .satisfies(r -> assertThat(r.recipient().address()).hasToString("ops@example.test"));
        String written = new String(Files.readAllBytes(spool.text(queued.get(0))), 0, (int) toPostmaster.size(), StandardCharsets.US_ASCII);
        assertThat(written).contains("Final-Recipient: rfc822; r1@dest.test").contains("Final-Recipient: rfc822; r100@dest.test");
        // made by mxd, from no client: "by HOST (mxd) id ID", not "from localhost ... with ESMTP" as a local process's
        assertThat(written).startsWith("Received: by mx.test (mxd) id " + queued.get(0)).doesNotContain("from localhost");
    }
}
