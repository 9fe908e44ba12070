package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How a recipient's recorded state becomes its DSN fields: Remote-MTA a host name, Diagnostic-Code typed. */
class DsnNoticesTest {

    private static DsnReport.Recipient line(String detail, Optional<String> remoteMta) {
        return line(detail, remoteMta, Optional.empty());
    }

    private static DsnReport.Recipient line(String detail, Optional<String> remoteMta, Optional<SmtpReply> reply) {
        Recipient to = new Recipient(Mailbox.parse("bob@dest.test"), RcptParameters.NONE, new Route.Relay("dest.test"));
        return DsnNotices.line(new RecipientStatus(to, DeliveryState.FAILED, detail, Instant.EPOCH,
                Optional.of(EnhancedStatus.BAD_MAILBOX), remoteMta, reply));
    }

    /** A success line: an alias written into several mailboxes is "expanded" (RFC 3464 §2.3.3), one mailbox "delivered". */
    @Test
    void anAliasOfSeveralMailboxesIsExpanded() {
        for (List<String> boxes : List.of(List.of("alice", "bob"), List.of("alice"))) {
            Recipient to = new Recipient(Mailbox.parse("team@dest.test"), RcptParameters.NONE, new Route.Local("dest.test", boxes));
            DsnReport.Recipient r = DsnNotices.line(new RecipientStatus(to, DeliveryState.DELIVERED, "delivered to maildir", Instant.EPOCH,
                    Optional.of(EnhancedStatus.OK), Optional.empty(), Optional.empty()));
            assertThat(r.action().field()).as("%s", boxes).isEqualTo(boxes.size() > 1 ? "expanded" : "delivered");
        }
    }

    @Test
    void remoteMtaIsTheHostNameAlone() {
        assertThat(DsnNotices.hostName("mx1.dest.test[192.0.2.7]:25")).isEqualTo("mx1.dest.test");
        assertThat(DsnNotices.hostName("mx1.dest.test[2001:db8::7]:2525")).isEqualTo("mx1.dest.test");
        assertThat(DsnNotices.hostName("[192.0.2.7]:25")).isEqualTo("192.0.2.7");
        assertThat(DsnNotices.hostName("mx1.dest.test:25")).isEqualTo("mx1.dest.test");
        assertThat(DsnNotices.hostName("mx1.dest.test")).isEqualTo("mx1.dest.test");
    }

    @Test
    void aServersReplyIsAnSmtpDiagnosticWhateverTheStage() {
        String at = "mx1.dest.test[192.0.2.7]:25";
        for (String detail : new String[] {at + " refused RCPT TO:<bob@dest.test>: 550 5.1.1 no such user",
                at + " refused MAIL FROM:<a@b.test>: 550 5.1.1 no such user", at + " refused DATA: 550 5.1.1 no such user",
                at + " refused the message after its content: 550 5.1.1 no such user"}) {
            DsnReport.Recipient r = line(detail, Optional.of(at), Optional.of(SmtpReply.of(550, List.of("5.1.1 no such user"))));
            assertThat(r.remoteMta()).contains("mx1.dest.test");
            assertThat(r.status()).isEqualTo("5.1.1");
            assertThat(r.diagnostic()).contains(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP, "550 5.1.1 no such user"));
        }
    }

    @Test
    void mxdsOwnFindingsAreXMxdDiagnostics() {
        String at = "mx1.dest.test[192.0.2.7]:25";
        String own = at + " does not offer SMTPUTF8 and the message has non-ASCII addresses";
        assertThat(line(own, Optional.of(at)).diagnostic()).contains(new DsnReport.Diagnostic(DsnReport.DiagnosticType.MXD, own));
        String expired = "delivery time expired after 5 days; last problem: " + at + " refused RCPT TO:<b@d.test>: 450 busy";
        assertThat(line(expired, Optional.of(at)).diagnostic())
                .contains(new DsnReport.Diagnostic(DsnReport.DiagnosticType.MXD, expired));
        assertThat(line("NXDOMAIN: dest.test does not exist", Optional.empty()).diagnostic())
                .contains(new DsnReport.Diagnostic(DsnReport.DiagnosticType.MXD, "NXDOMAIN: dest.test does not exist"));
        assertThat(line("", Optional.empty()).diagnostic()).isEmpty();
    }

    /** Every line of a multi-line reply goes into the Diagnostic-Code, as Postfix writes it (the first alone cut Gmail's sentence and help link off). */
    @Test
    void aMultiLineReplyIsDiagnosedWhole() {
        SmtpReply gmail = SmtpReply.of(550, List.of("5.1.1 The email account that you tried to reach does not exist. Please try",
                "5.1.1 double-checking the recipient's email address for typos or", "5.1.1 https://support.google.com/mail/?p=NoSuchUser"));
        String at = "mx.gmail.test[192.0.2.9]:25";
        assertThat(line(at + " refused RCPT TO:<bob@dest.test>: " + gmail.summary(), Optional.of(at), Optional.of(gmail)).diagnostic())
                .hasValueSatisfying(d -> assertThat(d.text()).isEqualTo("550-5.1.1 The email account that you tried to reach does not"
                        + " exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1"
                        + " https://support.google.com/mail/?p=NoSuchUser"));
        // One line is the reply as it came.
        SmtpReply one = SmtpReply.of(550, List.of("5.1.1 no such user"));
        assertThat(line(at + " refused RCPT TO:<bob@dest.test>: " + one.summary(), Optional.of(at), Optional.of(one)).diagnostic())
                .hasValueSatisfying(d -> assertThat(d.text()).isEqualTo("550 5.1.1 no such user"));
    }
}
