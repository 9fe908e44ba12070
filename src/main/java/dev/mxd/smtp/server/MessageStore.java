package dev.mxd.smtp.server;

import dev.mxd.smtp.ServerReply;

/**
 * Takes responsibility for a received message. Called off the event loop because it blocks
 * until the message is durable: the server sends 250 only for {@link Stored}.
 */
@FunctionalInterface
public interface MessageStore {

    StoreOutcome store(ReceivedMessage message);

    /** The result of storing: durable with a queue id, or not stored with the reply to give. */
    sealed interface StoreOutcome {
        record Stored(String queueId) implements StoreOutcome {}

        record Failed(ServerReply reply) implements StoreOutcome {}
    }
}
