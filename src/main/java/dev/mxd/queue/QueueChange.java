package dev.mxd.queue;

/**
 * What an operator's command (hold, release, flush, delete) did to one queued message. A message
 * being delivered at that moment is never touched: its delivery agent owns it until the attempt
 * ends, so the command is refused and can simply be repeated.
 */
public sealed interface QueueChange {

    String id();

    /** Done; {@code to} is empty after a delete. */
    record Done(String id, QueueState from, java.util.Optional<QueueState> to) implements QueueChange {}

    /** No message with this id in the spool (never was, delivered, or deleted). */
    record NoSuchMessage(String id) implements QueueChange {}

    /** Not done, and why, in words an operator can act on. */
    record Refused(String id, QueueState state, String reason) implements QueueChange {}
}
