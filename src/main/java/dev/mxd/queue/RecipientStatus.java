package dev.mxd.queue;

import dev.mxd.mail.Recipient;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import java.time.Instant;
import java.util.Optional;

/**
 * One recipient of a spooled message and how far its delivery got.
 *
 * @param recipient the address, DSN parameters and route (decided at RCPT time; see {@link dev.mxd.mail.Route})
 * @param state     pending, delivered, deferred or failed
 * @param detail    the last reply or error, for logs and bounces ("" when none)
 * @param updated   when the state last changed
 * @param status    the RFC 3463 enhanced status of the last attempt, for a DSN's Status field
 * @param remoteMta the host that gave the last reply, for a DSN's Remote-MTA field
 * @param reply     the server's reply this state rests on, when a server decided it (a DSN's
 *                  Diagnostic-Code is then of type "smtp"); empty when mxd decided it itself. It
 *                  serves the notices of the attempt that got it and is not kept in the envelope file
 */
public record RecipientStatus(Recipient recipient, DeliveryState state, String detail, Instant updated,
                              Optional<EnhancedStatus> status, Optional<String> remoteMta, Optional<SmtpReply> reply) {

    /** A status with no enhanced code and no remote host (a new or a locally handled recipient). */
    public RecipientStatus(Recipient recipient, DeliveryState state, String detail, Instant updated) {
        this(recipient, state, detail, updated, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** A status no server's reply decided (mxd's own finding, or one read back from the spool). */
    public RecipientStatus(Recipient recipient, DeliveryState state, String detail, Instant updated,
                           Optional<EnhancedStatus> status, Optional<String> remoteMta) {
        this(recipient, state, detail, updated, status, remoteMta, Optional.empty());
    }

    public RecipientStatus with(DeliveryState newState, String newDetail, Instant when) {
        return new RecipientStatus(recipient, newState, newDetail, when);
    }

    /**
     * The status after an attempt, from the agent's result: delivered, deferred (on the route
     * the retry takes, when the agent narrowed it) or failed.
     */
    public RecipientStatus after(DeliveryResult result, Instant when) {
        Recipient next = recipient;
        DeliveryState nextState;
        if (result instanceof DeliveryResult.Delivered) {
            nextState = DeliveryState.DELIVERED;
        } else if (result instanceof DeliveryResult.Deferred d) {
            nextState = DeliveryState.DEFERRED;
            next = d.retryRoute().map(route -> new Recipient(recipient.address(), recipient.dsn(), route)).orElse(recipient);
        } else {
            nextState = DeliveryState.FAILED;
        }
        return new RecipientStatus(next, nextState, result.detail(), when, Optional.of(result.status()), result.remoteMta(),
                result.reply());
    }
}
