package dev.mxd.mail;

import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.TextSink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

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
     * The octets free for messages where the store keeps them (the file system's usable space), asked at MAIL on the
     * event loop: must be quick. {@link Long#MAX_VALUE} when the store cannot run out of room.
     */
    default long freeSpace() {
        return Long.MAX_VALUE;
    }

    /**
     * One message whose text is arriving. {@link #write} runs on the event loop (an I/O failure is
     * remembered and answered at {@link #commit}); {@link #commit} runs off it, because it blocks
     * until the message is durable. Exactly one of commit and discard ends it.
     */
    interface IncomingMessage extends TextSink {

        /** The id the message is logged under from DATA on (the spool's queue id). */
        String id();

        /**
         * The text received so far, readable before the message is committed: a decorating store
         * (the gateway filter) reads it at the end of DATA, off the event loop, to decide the reply.
         * Reads what the store already holds (memory or its temporary file); copies nothing.
         * Throws the write error remembered while the text arrived, if there was one.
         */
        ReceivedText text() throws IOException;

        StoreOutcome commit();

        /**
         * When a commit comes too late: the client waits for the reply to its final dot for a time only
         * (RFC 5321 §4.5.3.2.6: 10 minutes), and a message made durable after it gave up is accepted twice,
         * since it sends the message again. A commit (or a quarantine) that would begin after {@code deadline},
         * a {@link System#nanoTime()}, stores nothing and answers {@code Replies.STORED_TOO_LATE}; the client,
         * still there or not, sends the message again. Called before the commit, from any thread.
         */
        void commitBy(long deadline);

        /** Whether {@code deadline} (a {@link System#nanoTime()}, as given to {@link #commitBy}) has passed. */
        static boolean past(long deadline) {
            return System.nanoTime() - deadline > 0;
        }

        /**
         * Commits the text as {@code rewrite} copies it (headers added at the end of DATA), streamed
         * into the durable copy; otherwise the same contract as {@link #commit()}.
         */
        StoreOutcome commit(TextRewrite rewrite);

        /** Forgets the message and whatever of it was written; safe to call more than once. */
        void discard();
    }

    /** A message's text as far as it arrived: its size, and a fresh stream from its first byte each time. */
    interface ReceivedText {
        long size();

        /** The caller closes it. */
        InputStream open() throws IOException;
    }

    /** Copies the text from {@code in} to {@code out}, changing it on the way; streams, never holds it whole. */
    @FunctionalInterface
    interface TextRewrite {
        void copy(InputStream in, OutputStream out) throws IOException;
    }

    /** The result of storing: durable with a queue id, or not stored with the reply to give. */
    sealed interface StoreOutcome {
        record Stored(String queueId) implements StoreOutcome {}

        record Failed(SmtpReply reply) implements StoreOutcome {}
    }
}
