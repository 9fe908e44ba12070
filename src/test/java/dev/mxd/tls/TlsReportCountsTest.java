package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS-RPT counting (RFC 8460 §4.4): per domain and UTC day, per policy, kept across restarts. */
class TlsReportCountsTest {

    private static final HostTls.ReportedPolicy STS = new HostTls.ReportedPolicy("sts",
            List.of("version: STSv1", "mode: enforce", "mx: *.example.org", "max_age: 86400"), List.of("*.example.org"));

    @TempDir
    Path dir;

    private static InetAddress ip(String text) throws Exception {
        return InetAddress.getByName(text);
    }

    @Test
    void countsSuccessesAndFailuresPerPolicyWithFailureDetails() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            counts.record("Example.ORG", "mx1.example.org", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            counts.record("example.org", "mx1.example.org", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            TlsResults.Failure noTls = new TlsResults.Failure("starttls-not-supported", "mx2 offers no STARTTLS");
            counts.record("example.org", "mx2.example.org", ip("192.0.2.2"), new HostTls.Opportunistic(), Optional.of(noTls));
            counts.record("example.org", "mx2.example.org", ip("192.0.2.2"), new HostTls.Opportunistic(), Optional.of(noTls));
            counts.record("example.org", "mx1.example.org", ip("192.0.2.1"), new HostTls.Encrypted(STS),
                    Optional.of(new TlsResults.Failure("certificate-expired", "expired\nsecond line")));

            List<TlsReportCounts.DomainDayCounts> today = counts.ended(LocalDate.parse("2026-12-03"), true);
            assertThat(today).hasSize(1);
            TlsReportCounts.DomainDayCounts d = today.get(0);
            assertThat(d.key()).isEqualTo(new TlsReportCounts.DayDomain(LocalDate.parse("2026-12-03"), "example.org"));
            assertThat(d.from()).isEqualTo(Instant.parse("2026-12-03T00:00:00Z"));
            assertThat(d.policies()).hasSize(2);
            TlsReportCounts.PolicyCounts none = d.policies().get(0);
            assertThat(none.policy()).isEqualTo(HostTls.ReportedPolicy.NONE);
            assertThat(none.successes()).isEqualTo(2);
            assertThat(none.failures()).isEqualTo(2);
            assertThat(none.details()).containsExactly(java.util.Map.entry(new TlsReportCounts.FailureDetail("starttls-not-supported",
                    "mx2.example.org", "192.0.2.2", "mx2 offers no STARTTLS"), 2L));
            TlsReportCounts.PolicyCounts sts = d.policies().get(1);
            assertThat(sts.policy()).isEqualTo(STS);
            assertThat(sts.successes()).isZero();
            assertThat(sts.failures()).isEqualTo(1);
            assertThat(sts.details().keySet()).extracting(TlsReportCounts.FailureDetail::reasonCode).containsExactly("expired");
        }
    }

    @Test
    void aDayEndsAtMidnightUtc() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T23:59:59.999Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            clock.set(Instant.parse("2026-12-04T00:00:00Z"));
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());

            assertThat(counts.ended(LocalDate.parse("2026-12-03"), false)).isEmpty();
            List<TlsReportCounts.DomainDayCounts> ended = counts.ended(LocalDate.parse("2026-12-04"), false);
            assertThat(ended).extracting(c -> c.key().day()).containsExactly(LocalDate.parse("2026-12-03"));
            assertThat(ended.get(0).policies().get(0).successes()).isEqualTo(1);
            List<TlsReportCounts.DomainDayCounts> all = counts.ended(LocalDate.parse("2026-12-04"), true);
            assertThat(all).hasSize(2);
            assertThat(all.get(1).policies().get(0).successes()).isEqualTo(2);
            assertThat(all.get(1).from()).isEqualTo(Instant.parse("2026-12-04T00:00:00Z"));
        }
    }

    @Test
    void aReportSentBeforeTheDayEndsStartsTheDaysNextCountsWhereItEnded() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            TlsReportCounts.DomainDayCounts sent = counts.ended(LocalDate.parse("2026-12-03"), true).get(0);
            counts.reported(sent.key(), Instant.parse("2026-12-03T10:00:00Z"));
            assertThat(counts.ended(LocalDate.parse("2026-12-03"), true)).isEmpty();
            clock.set(Instant.parse("2026-12-03T11:00:00Z"));
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            assertThat(counts.ended(LocalDate.parse("2026-12-03"), true).get(0).from()).isEqualTo(Instant.parse("2026-12-03T10:00:00Z"));
        }
    }

    @Test
    void countsSurviveAReopenAndATornWriteLeavesTheLastWholeFile() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            counts.record("example.org", "mx1.example.org", ip("192.0.2.1"), new HostTls.Encrypted(STS),
                    Optional.of(new TlsResults.Failure("certificate-not-trusted", "unknown CA")));
            counts.record("example.org", "mx1.example.org", ip("192.0.2.1"), new HostTls.Encrypted(STS), Optional.empty());
            counts.write();
        }
        // A crash in the middle of the next write leaves a torn temporary file beside the whole one.
        Files.writeString(dir.resolve(TlsReportCounts.FILE + ".tmp"), "{\"version\":1,\"days\":[{\"day\":\"20", StandardCharsets.UTF_8);
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            TlsReportCounts.PolicyCounts p = counts.ended(LocalDate.parse("2026-12-03"), true).get(0).policies().get(0);
            assertThat(p.policy()).isEqualTo(STS);
            assertThat(p.successes()).isEqualTo(1);
            assertThat(p.failures()).isEqualTo(1);
            assertThat(p.details()).containsExactly(java.util.Map.entry(new TlsReportCounts.FailureDetail("certificate-not-trusted",
                    "mx1.example.org", "192.0.2.1", "unknown CA"), 1L));
        }
        assertThat(dir.resolve(TlsReportCounts.FILE + ".tmp")).doesNotExist();
    }

    @Test
    void theBackgroundWriterKeepsCountsWithinASecond() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS);
        try {
            counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            assertThat(dev.mxd.testing.Await.within(java.time.Duration.ofSeconds(5), () -> Files.exists(dir.resolve(TlsReportCounts.FILE)))).isTrue();
            assertThat(Files.readString(dir.resolve(TlsReportCounts.FILE))).contains("\"successes\":1");
        } finally {
            counts.close();
        }
    }

    @Test
    void anUnreadableFileIsSetAsideNotTrusted() throws Exception {
        Files.writeString(dir.resolve(TlsReportCounts.FILE), "not json");
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), true)).isEmpty();
        }
        assertThat(dir.resolve(TlsReportCounts.FILE + ".unreadable")).exists();
    }

    @Test
    void limitsBoundDomainsPoliciesAndFailureRows() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, new TlsReportCounts.Limits(2, 1, 2), false)) {
            for (int i = 0; i < 5; i++) {
                counts.record("d" + i + ".example", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
            }
            counts.record("d0.example", "mx", ip("192.0.2.1"), new HostTls.Encrypted(STS), Optional.empty());
            for (int i = 0; i < 5; i++) {
                counts.record("d0.example", "mx" + i, ip("192.0.2.1"), new HostTls.Opportunistic(),
                        Optional.of(new TlsResults.Failure("validation-failure", "x")));
            }
            List<TlsReportCounts.DomainDayCounts> all = counts.ended(LocalDate.parse("2026-12-03"), true);
            assertThat(all).extracting(c -> c.key().domain()).containsExactly("d0.example", "d1.example");
            TlsReportCounts.PolicyCounts p = all.get(0).policies().get(0);
            assertThat(all.get(0).policies()).hasSize(1);
            assertThat(p.failures()).isEqualTo(5);
            assertThat(p.details()).hasSize(2);
        }
    }

    @Test
    void aFileOfAnotherVersionOrWithDamagedFieldsIsSetAsideAndCountingGoesOn() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        for (String text : List.of(
                "{\"version\":2,\"days\":[]}",
                "{\"version\":1,\"days\":[{\"day\":\"2026-12-01\",\"domain\":\"a.example\",\"start\":\"x\"}]}",
                "{\"version\":1,\"sent-until\":{\"yesterday\":\"soon\"},\"days\":[]}",
                "[]")) {
            Files.writeString(dir.resolve(TlsReportCounts.FILE), text);
            Files.deleteIfExists(dir.resolve(TlsReportCounts.FILE + ".unreadable"));
            try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, TlsReportCounts.Limits.DEFAULTS, false)) {
                assertThat(counts.ended(LocalDate.parse("2026-12-04"), true)).as(text).isEmpty();
                counts.record("example.org", "mx", ip("192.0.2.1"), new HostTls.Opportunistic(), Optional.empty());
                assertThat(counts.ended(LocalDate.parse("2026-12-04"), true)).as(text).hasSize(1);
            }
            assertThat(dir.resolve(TlsReportCounts.FILE + ".unreadable")).as(text).exists();
            Files.delete(dir.resolve(TlsReportCounts.FILE));
        }
    }

    @Test
    void anOverallCapBoundsTheFailureRowsOfAllDomains() throws Exception {
        SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
        try (TlsReportCounts counts = TlsReportCounts.open(dir, clock, new TlsReportCounts.Limits(100, 4, 10, 25), false)) {
            for (int d = 0; d < 10; d++) {
                for (int r = 0; r < 10; r++) {
                    counts.record("d" + d + ".example", "mx" + r, ip("192.0.2.1"), new HostTls.Opportunistic(),
                            Optional.of(new TlsResults.Failure("validation-failure", "x".repeat(200))));
                }
            }
            List<TlsReportCounts.DomainDayCounts> all = counts.ended(LocalDate.parse("2026-12-04"), true);
            assertThat(all).hasSize(10);
            assertThat(all.stream().mapToLong(c -> c.policies().get(0).failures()).sum()).as("every session counted").isEqualTo(100);
            assertThat(all.stream().mapToInt(c -> c.policies().get(0).details().size()).sum()).isEqualTo(25);
            // A reported day frees its rows for others.
            counts.reported(all.get(0), Instant.parse("2026-12-04T00:00:00Z"));
            counts.record("d9.example", "another-mx", ip("192.0.2.1"), new HostTls.Opportunistic(),
                    Optional.of(new TlsResults.Failure("validation-failure", "y")));
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), true).get(8).policies().get(0).details()).hasSize(1);
        }
    }

}
