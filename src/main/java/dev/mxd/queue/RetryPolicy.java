package dev.mxd.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a deferred message is tried again, and when it is given up: the one place retry
 * timing is decided. As in Postfix's queue manager, the wait after a failed attempt is the
 * message's age, kept between {@code first} and {@code max}; a message that keeps failing is
 * so tried at about 5m, 10m, 20m, 40m, then hourly, with no attempt counter to persist.
 * A message older than {@code giveUp} is bounced instead of retried.
 */
public record RetryPolicy(Duration first, Duration max, Duration giveUp) {

    public RetryPolicy {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0 || giveUp.isNegative()) {
            throw new IllegalArgumentException("retry needs first > 0, max >= first and give-up >= 0 (got first "
                    + first + ", max " + max + ", give-up " + giveUp + ")");
        }
    }

    /** Postfix-like defaults: first retry after 5m, at most 1h apart, give up after 5d. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5));
    }

    /** Whether a message that arrived at {@code arrival} has outlived the queue lifetime at {@code now}. */
    public boolean expired(Instant arrival, Instant now) {
        return !now.isBefore(arrival.plus(giveUp));
    }

    /**
     * The next attempt for a message that arrived at {@code arrival} and failed at {@code now},
     * or empty when it has outlived the queue lifetime and must be bounced.
     */
    public Optional<Instant> nextAttempt(Instant arrival, Instant now) {
        if (expired(arrival, now)) {
            return Optional.empty();
        }
        Duration delay = Duration.between(arrival, now);
        if (delay.compareTo(first) < 0) {
            delay = first;
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
