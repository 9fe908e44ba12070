package dev.mxd.delivery;

import jakarta.activation.DataHandler;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Date;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;

/**
 * Writes a delivery status notification (RFC 3464) as a multipart/report (RFC 6522):
 * a human-readable part, a message/delivery-status part, and the original message
 * (RET=FULL) or its headers (RET=HDRS). Like Postfix's bounce_size_limit, a large original
 * comes back as headers only.
 */
public final class DsnWriter {

    /** Postfix's bounce_size_limit default: at most this much of the original comes back whole. */
    public static final int DEFAULT_RETURN_LIMIT = 50_000;

    private static final DateTimeFormatter RFC5322 =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final int returnLimit;

    public DsnWriter(int returnLimit) {
        this.returnLimit = returnLimit;
    }

    public DsnWriter() {
        this(DEFAULT_RETURN_LIMIT);
    }

    /** The notification as bytes ready to spool, addressed to the report's sender. */
    public byte[] write(DsnReport report) {
        try {
            MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
            m.setFrom(new InternetAddress("MAILER-DAEMON@" + report.reportingMta(), "Mail Delivery System"));
            m.setRecipients(jakarta.mail.Message.RecipientType.TO, report.sender());
            m.setSubject(subject(report), "UTF-8");
            m.setSentDate(new Date());
            m.setHeader("Auto-Submitted", "auto-replied"); // RFC 3834 §5: no auto-reply loops
            m.setHeader("Message-ID", "<" + UUID.randomUUID() + "@" + report.reportingMta() + ">");

            MimeMultipart report3464 = new MimeMultipart("report; report-type=delivery-status");
            MimeBodyPart human = new MimeBodyPart();
            human.setText(humanText(report), "UTF-8");
            report3464.addBodyPart(human);

            MimeBodyPart status = new MimeBodyPart();
            status.setDataHandler(new DataHandler(new ByteArrayDataSource(
                    deliveryStatus(report).getBytes(StandardCharsets.UTF_8), "message/delivery-status")));
            report3464.addBodyPart(status);

            MimeBodyPart original = new MimeBodyPart();
            if (report.returnFull() && report.original().length <= returnLimit) {
                original.setDataHandler(new DataHandler(new ByteArrayDataSource(report.original(), "message/rfc822")));
            } else {
                original.setDataHandler(new DataHandler(new ByteArrayDataSource(headersOf(report.original()),
                        "text/rfc822-headers")));
            }
            report3464.addBodyPart(original);

            m.setContent(report3464);
            m.saveChanges();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            m.writeTo(out);
            return out.toByteArray();
        } catch (MessagingException e) {
            throw new IllegalStateException("cannot build the delivery status notification for " + report.queueId(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String subject(DsnReport report) {
        boolean failed = report.recipients().stream().anyMatch(r -> r.action() == DsnReport.Action.FAILED);
        boolean delayed = report.recipients().stream().anyMatch(r -> r.action() == DsnReport.Action.DELAYED);
        if (failed) {
            return "Undelivered Mail Returned to Sender";
        }
        return delayed ? "Delayed Mail (still being retried)" : "Successful Mail Delivery Report";
    }

    private static String humanText(DsnReport report) {
        StringBuilder sb = new StringBuilder();
        sb.append("This is the mail system at host ").append(report.reportingMta()).append(".\n\n");
        for (DsnReport.Recipient r : report.recipients()) {
            switch (r.action()) {
                case FAILED:
                    sb.append("Your message could not be delivered to <").append(r.finalRecipient())
                            .append(">. This is a permanent error; it will not be retried.\n");
                    break;
                case DELAYED:
                    sb.append("Your message to <").append(r.finalRecipient())
                            .append("> has not been delivered yet. It will be retried; you need not resend it.\n");
                    break;
                default:
                    sb.append("Your message was delivered to <").append(r.finalRecipient()).append(">.\n");
                    break;
            }
            r.remoteMta().ifPresent(mta -> sb.append("  Remote host: ").append(mta).append('\n'));
            r.diagnostic().ifPresent(d -> sb.append("  It said: ").append(d).append('\n'));
            sb.append("  Status: ").append(r.status()).append("\n\n");
        }
        sb.append("Queue id: ").append(report.queueId()).append('\n');
        return sb.toString();
    }

    /** RFC 3464 §2.2 per-message fields, then §2.3 per-recipient fields, each group after a blank line. */
    static String deliveryStatus(DsnReport report) {
        StringBuilder sb = new StringBuilder();
        sb.append("Reporting-MTA: dns; ").append(report.reportingMta()).append("\r\n");
        sb.append("X-Mxd-Queue-ID: ").append(report.queueId()).append("\r\n");
        report.envelopeId().ifPresent(id -> sb.append("Original-Envelope-Id: ").append(id).append("\r\n"));
        sb.append("Arrival-Date: ").append(RFC5322.format(report.arrival())).append("\r\n");
        for (DsnReport.Recipient r : report.recipients()) {
            sb.append("\r\n");
            r.originalRecipient().ifPresent(o -> sb.append("Original-Recipient: ").append(o).append("\r\n"));
            sb.append("Final-Recipient: rfc822; ").append(r.finalRecipient()).append("\r\n");
            sb.append("Action: ").append(r.action().field()).append("\r\n");
            sb.append("Status: ").append(r.status()).append("\r\n");
            r.remoteMta().ifPresent(mta -> sb.append("Remote-MTA: dns; ").append(mta).append("\r\n"));
            r.diagnostic().ifPresent(d -> sb.append("Diagnostic-Code: smtp; ").append(oneLine(d)).append("\r\n"));
            sb.append("Last-Attempt-Date: ").append(RFC5322.format(r.lastAttempt())).append("\r\n");
        }
        return sb.toString();
    }

    private static String oneLine(String s) {
        return s.replace("\r", " ").replace("\n", " ");
    }

    /** The header section of a message: everything before the first empty line. */
    static byte[] headersOf(byte[] message) {
        for (int i = 0; i + 1 < message.length; i++) {
            if (message[i] == '\n' && message[i + 1] == '\n') {
                return java.util.Arrays.copyOf(message, i + 1);
            }
            if (i + 3 < message.length && message[i] == '\r' && message[i + 1] == '\n'
                    && message[i + 2] == '\r' && message[i + 3] == '\n') {
                return java.util.Arrays.copyOf(message, i + 2);
            }
        }
        return message;
    }
}
