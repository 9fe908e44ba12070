package dev.mxd.dns.server;

import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * A warning that a client can cause at will (a malformed packet, an answer over the rate limit),
 * logged at most once per interval: the first occurrence is logged, the ones within the next
 * interval are only counted, and the next line logged says how many were left out. A flood then
 * costs one line per interval, never a line per packet. Thread-safe.
 */
final class ThrottledWarning {

    /** How often each kind of warning may be logged. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private boolean logged;
    private long lastLogged;
    private long suppressed;

    ThrottledWarning(Logger log, Duration interval, LongSupplier nanoClock) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
    }

    ThrottledWarning(Logger log) {
        this(log, DEFAULT_INTERVAL, System::nanoTime);
    }

    /** Logs the message (built only when it is logged) unless a line was logged less than an interval ago. */
    void warn(Supplier<String> message) {
        warn(message, null);
    }

    /** As {@link #warn(Supplier)}, with a stack trace: for what is a bug here, not the client's fault. */
    void warn(Supplier<String> message, Throwable bug) {
        long left;
        synchronized (this) {
            long now = nanoClock.getAsLong();
            if (logged && now - lastLogged < intervalNanos) {
                suppressed++;
                return;
            }
            left = suppressed;
            logged = true;
            lastLogged = now;
            suppressed = 0;
        }
        String line = left == 0 ? message.get()
                : message.get() + " (" + left + " more like it in the last " + seconds(intervalNanos) + " s not logged)";
        if (bug == null) {
            log.warn(line);
        } else {
            log.warn(line, bug);
        }
    }

    /** How many occurrences were counted but not logged since the last line. */
    synchronized long suppressed() {
        return suppressed;
    }

    private static long seconds(long nanos) {
        return Math.max(1, Duration.ofNanos(nanos).toSeconds());
    }

    /** Text from a packet made safe for a log line: anything but printable ASCII becomes '?'. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 200));
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return b.toString();
    }
}
