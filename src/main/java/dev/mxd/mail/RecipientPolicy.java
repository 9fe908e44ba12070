package dev.mxd.mail;

import dev.mxd.smtp.Mailbox;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides at RCPT time whether mxd takes responsibility for a recipient. Deciding here, and
 * not after DATA, is what keeps mxd from accepting mail it would have to bounce later
 * (backscatter) and from being an open relay.
 */
public interface RecipientPolicy {

    /**
     * The decision from what this node knows itself. A recipient that only another server can
     * vouch for (a backup domain with {@code verify: callout}) is accepted here: callers that
     * are not an SMTP client's RCPT (a quarantine release) use this.
     */
    RcptDecision decide(Mailbox recipient, ClientInfo client);

    /**
     * The decision for an SMTP client's RCPT, which may need to ask another server first (a
     * callout to the primary MX): then it completes later, on another thread. The SMTP session
     * reads no further command until it has completed, so replies stay in order.
     */
    default CompletionStage<RcptDecision> decideForClient(Mailbox recipient, ClientInfo client) {
        return CompletableFuture.completedFuture(decide(recipient, client));
    }

    /**
     * The address {@code RCPT TO:<Postmaster>} (no domain) stands for (RFC 5321 §4.5.1); it is
     * then decided like any other recipient. Empty when this MX delivers no mail locally.
     */
    Optional<Mailbox> postmaster();

    /** Who answers ETRN (RFC 1985) on this node; empty when it is not offered. */
    default Optional<QueueRuns> queueRuns() {
        return Optional.empty();
    }
}
