package dev.mxd.smtp.server;

import dev.mxd.smtp.ServerReply;
import dev.mxd.smtp.TextSink;

/**
 * Takes responsibility for received messages. The text streams in while the client sends it,
 * so a server with many connections never holds whole messages in memory: at DATA the server
 * {@linkplain #begin begins} a message, writes the decoded text into it, and at the end either
 * {@linkplain IncomingMessage#commit commits} it (the server sends 250 only for {@link StoreOutcome.Stored})
 * or {@linkplain IncomingMessage#discard discards} it (refused text, a client gone), which
 * must leave nothing behind.
 */
@FunctionalInterface
public interface MessageStore {

    /** Called on the event loop when DATA is accepted: must not block for long (no fsync here). */
    IncomingMessage begin(Transaction transaction);

    /**
     * One message whose text is arriving. {@link #write} runs on the event loop (an I/O failure is
     * remembered and answered at {@link #commit}); {@link #commit} runs off it, because it blocks
     * until the message is durable. Exactly one of commit and discard ends it.
     */
    interface IncomingMessage extends TextSink {

        StoreOutcome commit();

        /** Forgets the message and whatever of it was written; safe to call more than once. */
        void discard();
    }

    /** The result of storing: durable with a queue id, or not stored with the reply to give. */
    sealed interface StoreOutcome {
        record Stored(String queueId) implements StoreOutcome {}

        record Failed(ServerReply reply) implements StoreOutcome {}
    }
}
