package dev.mxd.smtp.client;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import java.util.Optional;

/**
 * What happened to one recipient of a transaction: transient versus permanent is the result
 * itself (chasquid style), not an exception type. {@code status} is the reply's RFC 3463 code, or
 * one we chose when the server gave none or the decision was ours; it goes into the DSN.
 */
public sealed interface RecipientOutcome {

    OutboundRecipient recipient();

    EnhancedStatus status();

    /** Human-readable reason, for logs and the DSN's Diagnostic-Code. */
    String detail();

    /** The server took responsibility for the message (RFC 5321 §4.1.1.4): {@code finalReply} is the reply to the final dot. */
    record Accepted(OutboundRecipient recipient, SmtpReply rcptReply, SmtpReply finalReply, EnhancedStatus status, String detail)
            implements RecipientOutcome {}

    /**
     * Not delivered now; try again later (4yz, or a connection lost after the content started).
     * {@code maybeDelivered}: the whole message went out with its final dot but the reply never came,
     * so the server may have it (RFC 5321 §4.1.1.4 and the duplicate problem of RFC 1047): a retry
     * can deliver it twice, which the queue counts apart.
     */
    record Deferred(OutboundRecipient recipient, SessionStage stage, Optional<SmtpReply> reply, EnhancedStatus status,
                    String detail, boolean maybeDelivered) implements RecipientOutcome {}

    /** Permanently refused (5yz), or refused here before sending (5.3.4 too big, 5.6.7 needs SMTPUTF8). */
    record Failed(OutboundRecipient recipient, SessionStage stage, Optional<SmtpReply> reply, EnhancedStatus status,
                  String detail) implements RecipientOutcome {}
}
