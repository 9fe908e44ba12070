package dev.mxd.smtp.server;

import io.netty.util.AttributeKey;

/**
 * When a session last made progress: completed a command, or received message text. The
 * session's event loop writes it; the {@link ConnectionLimiter} reads it from any thread to
 * find the idlest session when a new client needs a slot.
 */
final class SessionActivity {

    static final AttributeKey<SessionActivity> KEY = AttributeKey.valueOf("mxd.activity");

    /**
     * Message text counts as progress at this rate or faster: Postfix's {@code smtpd_min_data_rate}
     * (500 octets a second), which under stress extends its DATA deadline by one second for every
     * 500 octets. A client that sends a byte now and then is idle here, and can be shed.
     */
    static final long NANOS_PER_TEXT_OCTET = 1_000_000_000L / 500;

    private volatile long lastProgress = System.nanoTime();
    private volatile boolean receivingText;
    private volatile boolean storing;
    // the event loop's alone: when the text began, and how much of it came
    private long textStarted;
    private long textOctets;

    /** A command line was answered, the greeting went out, or a message's text ended. */
    void progressed() {
        lastProgress = System.nanoTime();
    }

    /**
     * Between 354 and the end of the text, progress is what the text's octets earn at
     * {@link #NANOS_PER_TEXT_OCTET} from its start, ahead of now for a fast client (as Postfix's
     * deadline grows with the octets), behind it for a trickle (timeouts.data still closes a
     * session that sends nothing at all).
     */
    void receivingText(boolean on) {
        receivingText = on;
        progressed();
        textStarted = lastProgress;
        textOctets = 0;
    }

    void bytesRead(int octets) {
        if (receivingText) {
            textOctets += octets;
            lastProgress = textStarted + Math.min(textOctets, 1L << 40) * NANOS_PER_TEXT_OCTET;
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
