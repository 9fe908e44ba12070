package dev.mxd.queue;

/**
 * Told of every recipient's delivery outcome, right after it is logged and before the message is
 * filed. Metrics and the status page listen here, so this package does not depend on them.
 * Called on delivery threads: must be quick and must not throw.
 */
@FunctionalInterface
public interface DeliveryListener {

    void delivered(DeliveryEvent event);
}
