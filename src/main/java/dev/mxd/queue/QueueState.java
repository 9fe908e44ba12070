package dev.mxd.queue;

import java.util.Locale;

/** Where a message is in its life, and the spool directory an operator sees it in (as Postfix's queues). */
public enum QueueState {
    /** Accepted and durable; not yet picked up for delivery. */
    INCOMING,
    /** Being delivered now; after a crash it goes back to incoming. */
    ACTIVE,
    /** Waiting for a retry, or for a delivery agent that does not exist yet (remote delivery). */
    DEFERRED,
    /**
     * Put aside by the operator, or by the queue manager when every attempt until the end of the
     * queue lifetime ended in an exception; never delivered until released.
     */
    HOLD;

    public String directory() {
        return name().toLowerCase(Locale.ROOT);
    }
}
