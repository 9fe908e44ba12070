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

    private final AtomicLong counter = new AtomicLong(new SecureRandom().nextInt(1 << 20));

    String next(long epochMillis) {
        long n = counter.getAndIncrement() & 0xFFFFF;
        return (Long.toString(epochMillis, 36) + String.format("%05X", n)).toUpperCase(Locale.ROOT);
    }
}
