package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    private final Instant arrival = Instant.parse("2026-11-26T00:00:00Z");
    private final RetryPolicy policy = RetryPolicy.defaults();

    private Instant retryAfterFailureAt(Instant now) {
        return policy.nextAttempt(arrival, now).orElseThrow();
    }

    @Test
    void delayDoublesFromFiveMinutesToAnHour() {
        Instant t = arrival;
        Instant t1 = retryAfterFailureAt(t);
        assertThat(Duration.between(t, t1)).isEqualTo(Duration.ofMinutes(5));
        Instant t2 = retryAfterFailureAt(t1);
        assertThat(Duration.between(t1, t2)).isEqualTo(Duration.ofMinutes(5));
        Instant t3 = retryAfterFailureAt(t2);
        assertThat(Duration.between(t2, t3)).isEqualTo(Duration.ofMinutes(10));
        Instant t4 = retryAfterFailureAt(t3);
        assertThat(Duration.between(t3, t4)).isEqualTo(Duration.ofMinutes(20));
        Instant t5 = retryAfterFailureAt(t4);
        assertThat(Duration.between(t4, t5)).isEqualTo(Duration.ofMinutes(40));
        Instant t6 = retryAfterFailureAt(t5);
        assertThat(Duration.between(t5, t6)).isEqualTo(Duration.ofHours(1));
        assertThat(Duration.between(arrival.plus(Duration.ofDays(2)), retryAfterFailureAt(arrival.plus(Duration.ofDays(2)))))
                .isEqualTo(Duration.ofHours(1));
    }

    @Test
    void messagePastItsLifetimeIsGivenUp() {
        assertThat(policy.nextAttempt(arrival, arrival.plus(Duration.ofDays(5)))).isEmpty();
        assertThat(policy.nextAttempt(arrival, arrival.plus(Duration.ofDays(6)))).isEmpty();
        assertThat(policy.expired(arrival, arrival.plus(Duration.ofDays(5)))).isTrue();
        assertThat(policy.expired(arrival, arrival.plus(Duration.ofDays(4)))).isFalse();
    }

    @Test
    void lastRetryLandsAtTheEndOfTheLifetime() {
        Instant now = arrival.plus(Duration.ofDays(5)).minus(Duration.ofMinutes(10));
        assertThat(policy.nextAttempt(arrival, now)).contains(arrival.plus(Duration.ofDays(5)));
    }

    @Test
    void nonsenseSettingsAreRefusedWithTheValues() {
        assertThatThrownBy(() -> new RetryPolicy(Duration.ZERO, Duration.ofHours(1), Duration.ofDays(5)))
                .hasMessageContaining("first");
        assertThatThrownBy(() -> new RetryPolicy(Duration.ofHours(2), Duration.ofHours(1), Duration.ofDays(5)))
                .hasMessageContaining("max");
    }

    /** The expiry text names the lifetime as configured: "12 hours", not "0 days" (review finding). */
    @org.junit.jupiter.api.Test
    void theQueueLifetimeIsNamedInItsLargestWholeUnit() {
        org.assertj.core.api.Assertions.assertThat(QueueManager.span(java.time.Duration.ofDays(5))).isEqualTo("5 days");
        org.assertj.core.api.Assertions.assertThat(QueueManager.span(java.time.Duration.ofHours(12))).isEqualTo("12 hours");
        org.assertj.core.api.Assertions.assertThat(QueueManager.span(java.time.Duration.ofHours(1))).isEqualTo("1 hour");
        org.assertj.core.api.Assertions.assertThat(QueueManager.span(java.time.Duration.ofMinutes(90))).isEqualTo("90 minutes");
        org.assertj.core.api.Assertions.assertThat(QueueManager.span(java.time.Duration.ofMillis(1500))).isEqualTo("1 second");
    }
}
