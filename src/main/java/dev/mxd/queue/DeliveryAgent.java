package dev.mxd.queue;

import java.nio.file.Path;
import java.util.List;

/**
 * Delivers some recipients of one spooled message: to local mailboxes, or by MX to one
 * destination domain. Like Postfix's local and smtp agents, it reports a result per
 * recipient and never throws for delivery trouble: a temporary problem is a
 * {@link DeliveryResult.Deferred} result, a permanent one a {@link DeliveryResult.Failed}.
 */
public interface DeliveryAgent {

    /**
     * @param envelope   the message's envelope
     * @param text       the spooled text (Received header first)
     * @param recipients recipients of one destination, each PENDING or DEFERRED
     * @return the result for each recipient, in the same order
     */
    List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients);

    /**
     * The last attempt, at the end of the message's queue lifetime, after which what is left is bounced: every next hop
     * is tried, also one passed over for a failure inside its retry time (a primary MX back in the last hour of a
     * backup's five days had its backlog bounced without a connection). As {@link #deliver} by default.
     */
    default List<DeliveryResult> deliverLast(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        return deliver(envelope, text, recipients);
    }

    /**
     * At a stop whose drain has run out: ends the deliveries still waiting on a next hop (their recipients are
     * deferred as a broken connection decides) and defers every later one at once, so that the attempts running
     * finish and write their outcomes (a pass's notice and the states it tells of) before the process exits. Called
     * from another thread than the deliveries'. None by default.
     */
    default void cutShort() {
    }
}
