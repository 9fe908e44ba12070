package dev.mxd.queue;

/** Where one recipient of a spooled message stands. */
public enum DeliveryState {
    /** Not delivered yet; will be tried. */
    PENDING,
    /** Delivered (to a mailbox or the next MX): done. */
    DELIVERED,
    /** A temporary failure; tried again later. */
    DEFERRED,
    /** A permanent failure; a bounce is due (the delivery issue). */
    FAILED;

    public boolean done() {
        return this == DELIVERED || this == FAILED;
    }
}
