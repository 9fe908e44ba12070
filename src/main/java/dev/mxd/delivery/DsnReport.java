package dev.mxd.delivery;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a delivery status notification says (RFC 3464 §2): per message, who reports and
 * when the message arrived; per recipient, what happened to it.
 *
 * @param reportingMta     this MTA's host name (Reporting-MTA)
 * @param queueId          our queue id, for the operator (X-Mxd-Queue-ID)
 * @param envelopeId       ENVID from the original MAIL command (RFC 3461 §4.4), if any
 * @param notifyTo         who the notification goes to: the original sender, or the postmaster
 * @param audience         whether that is the sender or the postmaster (a double bounce)
 * @param arrival          when we accepted the message (Arrival-Date)
 * @param recipients       one entry per recipient being reported
 * @param returnFull       RET=FULL (the whole message comes back) or RET=HDRS (headers only)
 * @param international    the original came with SMTPUTF8: it and the report go back as RFC 6533 message/global*
 * @param original         the original message as it was spooled (empty when it could not be read)
 * @param originalUnread   the original's text could not be read from the spool (gone, or an I/O error): the
 *                         notice goes without it, saying so, rather than not at all
 */
public record DsnReport(String reportingMta, String queueId, Optional<String> envelopeId, String notifyTo, Audience audience,
                        Instant arrival, List<Recipient> recipients, boolean returnFull, boolean international,
                        byte[] original, boolean originalUnread) {

    /** A report that returns the original (or its header) as read from the spool. */
    public DsnReport(String reportingMta, String queueId, Optional<String> envelopeId, String notifyTo, Audience audience,
                     Instant arrival, List<Recipient> recipients, boolean returnFull, boolean international, byte[] original) {
        this(reportingMta, queueId, envelopeId, notifyTo, audience, arrival, recipients, returnFull, international, original, false);
    }

    public DsnReport {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a delivery status notification reports at least one recipient");
        }
        if (notifyTo.isEmpty()) {
            throw new IllegalArgumentException("a delivery status notification never goes to the null path (RFC 3461 §6.2)");
        }
    }

    /** Who reads the notification. */
    public enum Audience {
        /** The original message's sender. */
        SENDER,
        /** The postmaster, because the sender cannot be told (null sender, a failed notice, no such mailbox). */
        POSTMASTER
    }

    /** RFC 3464 §2.3.3 Action values mxd reports. */
    public enum Action {
        FAILED("failed"), DELAYED("delayed"), DELIVERED("delivered"), RELAYED("relayed"), EXPANDED("expanded");

        private final String field;

        Action(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /**
     * RFC 3464 §2.3.6: the diagnostic-type says what kind of text follows. {@code smtp} only for
     * a reply an SMTP server gave; mxd's own findings (DNS, Maildir, expiry) are {@code X-mxd}.
     */
    public enum DiagnosticType {
        SMTP("smtp"), MXD("X-mxd");

        private final String field;

        DiagnosticType(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /** A Diagnostic-Code: its type and its text. */
    public record Diagnostic(DiagnosticType type, String text) {}

    /**
     * One recipient's fate.
     *
     * @param finalRecipient    the address we tried (Final-Recipient)
     * @param originalRecipient ORCPT as given by the client, "type;address" (RFC 3461 §4.2), if any
     * @param action            failed, delayed, delivered or relayed
     * @param status            RFC 3463 enhanced status code, e.g. 5.1.1
     * @param remoteMta         the name of the MX host that answered, if one did (no address, no port)
     * @param diagnostic        the remote reply ("550 5.1.1 no such user") or mxd's own finding, if any
     * @param lastAttempt       when we last tried
     */
    public record Recipient(String finalRecipient, Optional<String> originalRecipient, Action action, String status,
                            Optional<String> remoteMta, Optional<Diagnostic> diagnostic, Instant lastAttempt) {}
}
