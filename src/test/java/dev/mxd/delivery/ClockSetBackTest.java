package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.RecipientVerifier.Verdict;
import dev.mxd.smtp.SmtpReply;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The wall clock set back (an NTP step, a virtual machine restored from a snapshot): what delivery remembers with a time
 * lasts its own span, not the step's as well.
 */
class ClockSetBackTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-07T10:00:00Z"));
    private final InstantSource clock = now::get;

    /**
     * A primary that failed once is passed over for its retry wait (60 s) only: with the clock set back a day after the
     * failure, it was passed over for the day, and its mail went to the backup MX meanwhile.
     */
    @Test
    void aFailedHostIsPassedOverForItsWaitNotForTheStep() throws Exception {
        HostStatusTable table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofHours(1), 100, clock);
        MxRoute primary = new MxRoute("mx1.example.org", 10, InetAddress.getByName("192.0.2.1"), 25);
        table.failed(primary, "connection refused");
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.POSTPONED);
        assertThat(table.postponed(primary)).isPresent();

        now.set(now.get().plusSeconds(10).minus(Duration.ofDays(1)));
        assertThat(table.postponed(primary)).as("its failure is dated after now: the clock went back").isEmpty();
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE);

        // the probe fails: a new wait from the new now, as long as the failure count says (the second: 120 s)
        HostStatusTable.Status s = table.failed(primary, "connection refused");
        assertThat(s.retryAt()).isEqualTo(now.get().plusSeconds(120));
        table.endProbe(primary);
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.POSTPONED);
        now.set(now.get().plusSeconds(121));
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE);
    }

    /** A probe lease taken before the clock went back does not keep every other delivery off the address for the step. */
    @Test
    void aProbeLeaseTakenBeforeTheStepIsTakenForLost() throws Exception {
        HostStatusTable table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofHours(1), 100, clock);
        MxRoute primary = new MxRoute("mx1.example.org", 10, InetAddress.getByName("192.0.2.1"), 25);
        table.failed(primary, "connection refused");
        now.set(now.get().plusSeconds(61));
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE); // this thread's lease, never ended
        now.set(now.get().minus(Duration.ofDays(1)));
        Thread other = new Thread(() -> assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        other.setUncaughtExceptionHandler((t, e) -> failure.set(e));
        other.start();
        other.join();
        assertThat(failure.get()).isNull();
    }

    /** A refusal kept by the backup MX's recipient check is asked again after its own span (3 h), not the step's too. */
    @Test
    void aKeptRefusalLastsItsOwnSpan() {
        VerificationCache cache = new VerificationCache(10, clock);
        Verdict refused = new Verdict.Refused(SmtpReply.of(550, "5.1.1 no such user"));
        cache.put("ghost@example.org", refused, Duration.ofDays(7), Duration.ofHours(3));
        assertThat(cache.get("ghost@example.org")).contains(refused);
        now.set(now.get().minus(Duration.ofDays(1)));
        assertThat(cache.get("ghost@example.org")).as("kept after now: before the clock went back").isEmpty();
        cache.put("ghost@example.org", refused, Duration.ofDays(7), Duration.ofHours(3));
        assertThat(cache.get("ghost@example.org")).contains(refused);
        now.set(now.get().plus(Duration.ofHours(3)));
        assertThat(cache.get("ghost@example.org")).isEmpty();
    }
}
