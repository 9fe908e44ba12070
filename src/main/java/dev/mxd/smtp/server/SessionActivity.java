package dev.mxd.smtp.server;

import io.netty.util.AttributeKey;

/**
 * When a session last made progress: completed a command, or received message text. The
 * session's event loop writes it; the {@link ConnectionLimiter} reads it from any thread to
 * find the idlest session when a new client needs a slot.
 */
final class SessionActivity {

    static final AttributeKey<SessionActivity> KEY = AttributeKey.valueOf("mxd.activity");

    private volatile long lastProgress = System.nanoTime();
    private volatile boolean receivingText;
    private volatile boolean storing;

    /** A command line was answered, the greeting went out, or a message's text ended. */
    void progressed() {
        lastProgress = System.nanoTime();
    }

    /** Between 354 and the end of the text, every read counts as progress (timeouts.data governs it). */
    void receivingText(boolean on) {
        receivingText = on;
        progressed();
    }

    void bytesRead() {
        if (receivingText) {
            progressed();
        }
    }

    /** A message is being committed, or a recipient decided (a callout): the session waits on this server and must not be shed until it has its reply. */
    void storing(boolean on) {
        storing = on;
        if (!on) {
            progressed();
        }
    }

    /** Nanoseconds since the last progress, as of {@code now} ({@link System#nanoTime()}). */
    long idleNanos(long now) {
        return now - lastProgress;
    }

    boolean storing() {
        return storing;
    }
}
