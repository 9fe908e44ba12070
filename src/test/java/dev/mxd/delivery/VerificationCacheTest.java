package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.RecipientVerifier.Verdict;
import dev.mxd.smtp.SmtpReply;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link VerificationCache}: positive and negative answers expire on their own times; "cannot tell" is never kept. */
class VerificationCacheTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-03T10:00:00Z"));
    private final InstantSource clock = now::get;
    private static final Duration POSITIVE = Duration.ofDays(7);
    private static final Duration NEGATIVE = Duration.ofHours(3);

    private void advance(Duration d) {
        now.set(now.get().plus(d));
    }

    @Test
    void aPositiveAnswerLastsItsPositiveExpiry() {
        VerificationCache cache = new VerificationCache(10, clock);
        cache.put("alice@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        advance(POSITIVE.minusSeconds(1));
        assertThat(cache.get("alice@example.org")).contains(new Verdict.Exists());
        advance(Duration.ofSeconds(1));
        assertThat(cache.get("alice@example.org")).isEmpty();
        assertThat(cache.size()).isZero();
    }

    @Test
    void aNegativeAnswerLastsItsNegativeExpiry() {
        VerificationCache cache = new VerificationCache(10, clock);
        Verdict refused = new Verdict.Refused(SmtpReply.of(550, "5.1.1 no such user"));
        cache.put("ghost@example.org", refused, POSITIVE, NEGATIVE);
        advance(NEGATIVE.minusSeconds(1));
        assertThat(cache.get("ghost@example.org")).contains(refused);
        advance(Duration.ofSeconds(1));
        assertThat(cache.get("ghost@example.org")).isEmpty();
    }

    @Test
    void cannotTellIsNotKept() {
        VerificationCache cache = new VerificationCache(10, clock);
        cache.put("x@example.org", new Verdict.Unknown("primary down"), POSITIVE, NEGATIVE);
        assertThat(cache.get("x@example.org")).isEmpty();
        assertThat(cache.size()).isZero();
    }

    @Test
    void theLeastRecentlyUsedAddressGoesWhenTheCacheIsFull() {
        VerificationCache cache = new VerificationCache(2, clock);
        cache.put("a@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        cache.put("b@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        assertThat(cache.get("a@example.org")).isPresent(); // a is now the most recently used
        cache.put("c@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        assertThat(cache.get("b@example.org")).isEmpty();
        assertThat(cache.get("a@example.org")).isPresent();
        assertThat(cache.get("c@example.org")).isPresent();
    }

    @Test
    void aFloodOfRefusedAddressesDoesNotPushOutTheKnownRecipients() {
        VerificationCache cache = new VerificationCache(3, clock);
        cache.put("alice@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        Verdict refused = new Verdict.Refused(SmtpReply.of(550, "5.1.1 no such user"));
        for (int i = 0; i < 50; i++) {
            cache.put("made-up-" + i + "@example.org", refused, POSITIVE, NEGATIVE);
        }
        assertThat(cache.get("alice@example.org")).contains(new Verdict.Exists());
        assertThat(cache.get("made-up-49@example.org")).contains(refused);
        assertThat(cache.get("made-up-0@example.org")).isEmpty();
    }

    @Test
    void aNewAnswerReplacesTheOldOneOfTheOtherKind() {
        VerificationCache cache = new VerificationCache(3, clock);
        Verdict refused = new Verdict.Refused(SmtpReply.of(550, "5.1.1 no such user"));
        cache.put("bob@example.org", refused, POSITIVE, NEGATIVE);
        cache.put("bob@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE); // the mailbox was created
        assertThat(cache.get("bob@example.org")).contains(new Verdict.Exists());
        cache.put("bob@example.org", refused, POSITIVE, NEGATIVE); // and removed again
        assertThat(cache.get("bob@example.org")).contains(refused);
        assertThat(cache.size()).isEqualTo(1);
    }
}
