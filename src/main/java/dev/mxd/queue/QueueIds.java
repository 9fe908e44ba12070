package dev.mxd.queue;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Queue ids: the arrival time in base 36 and a counter that starts at a random value, so ids
 * sort by arrival, are unique within a run, and differ across restarts (the spool also
 * refuses to reuse an id whose file exists). Like Postfix's long queue ids, but shorter.
 */
final class QueueIds {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private final AtomicLong counter = new AtomicLong(new SecureRandom().nextInt(1 << 20));

    /** When the message with this id arrived (to the millisecond), read from the id alone; empty for a foreign name. */
    static java.util.Optional<java.time.Instant> arrival(String id) {
        if (id.length() < 6) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(java.time.Instant.ofEpochMilli(Long.parseLong(id.substring(0, id.length() - 5), 36)));
        } catch (NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    String next(long epochMillis) {
        long n = counter.getAndIncrement() & 0xFFFFF;
        StringBuilder id = new StringBuilder(14).append(Long.toString(epochMillis, 36).toUpperCase(Locale.ROOT));
        for (int shift = 16; shift >= 0; shift -= 4) { // the counter in five hexadecimal digits
            id.append(HEX[(int) (n >>> shift) & 0xF]);
        }
        return id.toString();
    }
}
