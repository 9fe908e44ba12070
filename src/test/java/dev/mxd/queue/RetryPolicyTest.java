package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    private final Instant arrival = Instant.parse("2026-11-26T00:00:00Z");
    private final RetryPolicy policy = RetryPolicy.defaults();

    private Duration delayAfter(int attempts, Instant now) {
        return Duration.between(now, policy.nextAttempt(arrival, attempts, now).orElseThrow());
    }

    @Test
    void delayDoublesFromFiveMinutesToAnHour() {
        Instant now = arrival.plusSeconds(10);
        assertThat(delayAfter(1, now)).isEqualTo(Duration.ofMinutes(5));
        assertThat(delayAfter(2, now)).isEqualTo(Duration.ofMinutes(10));
        assertThat(delayAfter(3, now)).isEqualTo(Duration.ofMinutes(20));
        assertThat(delayAfter(4, now)).isEqualTo(Duration.ofMinutes(40));
        assertThat(delayAfter(5, now)).isEqualTo(Duration.ofHours(1));
        assertThat(delayAfter(50, now)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void messagePastItsLifetimeIsGivenUp() {
        assertThat(policy.nextAttempt(arrival, 100, arrival.plus(Duration.ofDays(5)))).isEmpty();
        assertThat(policy.nextAttempt(arrival, 100, arrival.plus(Duration.ofDays(6)))).isEmpty();
    }

    @Test
    void lastRetryLandsAtTheEndOfTheLifetime() {
        Instant now = arrival.plus(Duration.ofDays(5)).minus(Duration.ofMinutes(10));
        assertThat(policy.nextAttempt(arrival, 20, now)).contains(arrival.plus(Duration.ofDays(5)));
    }

    @Test
    void nonsenseSettingsAreRefusedWithTheValues() {
        assertThatThrownBy(() -> new RetryPolicy(Duration.ZERO, Duration.ofHours(1), Duration.ofDays(5)))
                .hasMessageContaining("first");
        assertThatThrownBy(() -> new RetryPolicy(Duration.ofHours(2), Duration.ofHours(1), Duration.ofDays(5)))
                .hasMessageContaining("max");
    }
}
