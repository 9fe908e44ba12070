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

    /**
     * The known recipients outlive a restart (Postfix keeps its verify cache on disk): a backup restarted while its
     * primary is down still takes their mail. Each keeps its own expiry; refusals are asked again; a forgotten set
     * (a reload that moved the route) is forgotten in the file too; a line cut short by a crash is left out.
     */
    @Test
    void theKnownRecipientsAreKeptInTheFileForTheNextStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("verify-cache");
        VerificationCache first = VerificationCache.persistent(10, clock, file);
        first.put("alice@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        advance(Duration.ofDays(1));
        first.put("bob@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        first.put("ghost@example.org", new Verdict.Refused(SmtpReply.of(550, "5.1.1 no such user")), POSITIVE, NEGATIVE);
        first.save(); // as at a stop
        java.nio.file.Files.writeString(file, "carol@example.org\t12", java.nio.file.StandardOpenOption.APPEND); // cut short

        VerificationCache second = VerificationCache.persistent(10, clock, file);
        assertThat(second.get("alice@example.org")).contains(new Verdict.Exists());
        assertThat(second.get("bob@example.org")).contains(new Verdict.Exists());
        assertThat(second.get("ghost@example.org")).as("a refusal is asked again").isEmpty();
        assertThat(second.get("carol@example.org")).isEmpty();
        advance(POSITIVE.minusDays(1));
        assertThat(VerificationCache.persistent(10, clock, file).get("alice@example.org")).as("its own expiry").isEmpty();
        assertThat(VerificationCache.persistent(10, clock, file).get("bob@example.org")).contains(new Verdict.Exists());

        second.clear();
        second.close(); // written at a stop at the latest
        assertThat(VerificationCache.persistent(10, clock, file).size()).isZero();
        assertThat(VerificationCache.persistent(10, clock, dir.resolve("none")).size()).as("no file yet").isZero();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(file)))
                .as("recipients' addresses: mxd's user only").isEqualTo("rw-------");
    }

    /**
     * Answers asked of other next hops (relay-host, routes changed between two runs) are not loaded, as a reload that
     * moves them forgets them: an old primary's yes must not stand for the new one.
     */
    @Test
    void aFileWrittenUnderOtherNextHopsIsNotLoaded(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path file = dir.resolve("verify-cache");
        VerificationCache first = VerificationCache.persistent(10, clock, file, "[192.0.2.1]:25 {}");
        first.put("alice@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        first.close();
        assertThat(VerificationCache.persistent(10, clock, file, "[192.0.2.1]:25 {}").get("alice@example.org")).contains(new Verdict.Exists());
        assertThat(VerificationCache.persistent(10, clock, file, "[192.0.2.2]:25 {}").get("alice@example.org")).isEmpty();
        // a reload that moves them: forgotten, and the file says the new ones
        VerificationCache running = VerificationCache.persistent(10, clock, file, "[192.0.2.1]:25 {}");
        running.clear("[192.0.2.2]:25 {}");
        running.put("bob@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
        running.close();
        VerificationCache next = VerificationCache.persistent(10, clock, file, "[192.0.2.2]:25 {}");
        assertThat(next.get("bob@example.org")).contains(new Verdict.Exists());
        assertThat(next.get("alice@example.org")).isEmpty();
    }

    /**
     * The file is written off the caller's thread (an RCPT waits for no disk): soon after the first answer, then at
     * most once a minute while answers come; what came meanwhile is in the next write.
     */
    @Test
    void theFileIsWrittenOffTheCallersThreadAtMostOnceAMinute(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("verify-cache");
        VerificationCache cache = VerificationCache.persistent(10, clock, file);
        try {
            cache.put("alice@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> java.nio.file.Files.exists(file) && java.nio.file.Files.readString(file).contains("alice@example.org\t"));
            cache.put("bob@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
            Thread.sleep(300); // a write, had one been started, would have had the time to land
            assertThat(java.nio.file.Files.readString(file)).doesNotContain("bob");
            advance(VerificationCache.SAVE_EVERY);
            cache.put("carol@example.org", new Verdict.Exists(), POSITIVE, NEGATIVE);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> java.nio.file.Files.readString(file).contains("bob@example.org\t"));
            assertThat(java.nio.file.Files.readString(file)).contains("carol@example.org\t");
        } finally {
            cache.close();
        }
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
