package dev.mxd.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a deferred message is tried again, and when it is given up: the one place retry
 * timing is decided. Like Postfix (minimal_backoff_time 300s, maximal_backoff_time 4000s,
 * maximal_queue_lifetime 5d) the delay doubles from {@code first} to at most {@code max},
 * and a message older than {@code giveUp} is bounced instead of retried.
 */
public record RetryPolicy(Duration first, Duration max, Duration giveUp) {

    public RetryPolicy {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0 || giveUp.isNegative()) {
            throw new IllegalArgumentException("retry needs first > 0, max >= first and give-up >= 0 (got first "
                    + first + ", max " + max + ", give-up " + giveUp + ")");
        }
    }

    public static RetryPolicy defaults() {
        return new RetryPolicy(Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5));
    }

    /**
     * The next attempt after {@code attempts} failed ones, or empty when the message, which
     * arrived at {@code arrival}, is past its queue lifetime and must be bounced.
     */
    public Optional<Instant> nextAttempt(Instant arrival, int attempts, Instant now) {
        if (!now.isBefore(arrival.plus(giveUp))) {
            return Optional.empty();
        }
        Duration delay = first;
        for (int i = 1; i < attempts && delay.compareTo(max) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        if (delay.compareTo(max) > 0) {
            delay = max;
        }
        Instant next = now.plus(delay);
        Instant expiry = arrival.plus(giveUp);
        // One last try at the end of the lifetime rather than a bounce without a try.
        return Optional.of(next.isAfter(expiry) ? expiry : next);
    }
}
