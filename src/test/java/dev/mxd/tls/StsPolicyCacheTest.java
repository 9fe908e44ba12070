package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StsPolicyCacheTest {

    @TempDir
    Path dir;

    private static StsPolicy policy(long maxAge) throws Exception {
        return StsPolicy.parse("version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: " + maxAge + "\n");
    }

    @Test
    void survivesAReopenWhileMaxAgeLastsAndIsDroppedAfter() throws Exception {
        Instant t0 = Instant.parse("2026-12-03T12:00:00Z");
        StsPolicyCache cache = StsPolicyCache.open(dir, 10, Clock.fixed(t0, ZoneOffset.UTC));
        cache.put(new StsPolicyCache.Entry("a.test", "id1", t0, policy(3600)));
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("a.test.json");
        }

        StsPolicyCache reopened = StsPolicyCache.open(dir, 10, Clock.fixed(t0.plusSeconds(3599), ZoneOffset.UTC));
        assertThat(reopened.get("a.test")).hasValueSatisfying(e -> {
            assertThat(e.id()).isEqualTo("id1");
            assertThat(e.policy().mx()).containsExactly("mx.a.test");
        });

        StsPolicyCache later = StsPolicyCache.open(dir, 10, Clock.fixed(t0.plus(Duration.ofHours(2)), ZoneOffset.UTC));
        assertThat(later.get("a.test")).isEmpty();
        assertThat(Files.exists(dir.resolve("a.test.json"))).isFalse();
    }

    @Test
    void isBoundedByDroppingThePolicyThatExpiresFirst() throws Exception {
        Instant t0 = Instant.parse("2026-12-03T12:00:00Z");
        StsPolicyCache cache = StsPolicyCache.open(dir, 2, Clock.fixed(t0, ZoneOffset.UTC));
        cache.put(new StsPolicyCache.Entry("long.test", "1", t0, policy(9000)));
        cache.put(new StsPolicyCache.Entry("short.test", "1", t0, policy(60)));
        cache.put(new StsPolicyCache.Entry("mid.test", "1", t0, policy(600)));
        assertThat(cache.size()).isEqualTo(2);
        assertThat(cache.get("short.test")).isEmpty();
        assertThat(Files.exists(dir.resolve("short.test.json"))).isFalse();
        assertThat(cache.get("long.test")).isPresent();
    }

    @Test
    void ignoresLeftoversAndUnreadableFiles() throws Exception {
        Files.writeString(dir.resolve("a.test.json.tmp"), "{");
        Files.writeString(dir.resolve("b.test.json"), "not json");
        StsPolicyCache cache = StsPolicyCache.open(dir, 10, Clock.systemUTC());
        assertThat(cache.size()).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty();
        }
    }
}
