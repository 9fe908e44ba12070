package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The per-message times read and write exactly what the JDK's general formatters do. */
class TimestampsTest {

    private static final DateTimeFormatter RFC5322 =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneOffset.UTC);
    private static final long MAX = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
    private static final long MIN = Instant.parse("0000-01-01T00:00:00Z").getEpochSecond();

    private static Instant[] samples() {
        SplittableRandom random = new SplittableRandom(18);
        Instant[] out = new Instant[4000];
        int[] nanos = {0, 1, 999_999_999, 1_000, 120_000_000, 100, 5_000_000, 123_456_000};
        for (int i = 0; i < out.length; i++) {
            long s = i % 4 == 0 ? random.nextLong(MIN, MAX + 1) : random.nextLong(1_700_000_000L, 1_900_000_000L);
            int nano = i % 3 == 0 ? nanos[random.nextInt(nanos.length)] : random.nextInt(1_000_000_000);
            out[i] = Instant.ofEpochSecond(i % 50 == 0 ? s - s % 60 : s, nano); // some on the minute: LocalTime drops :00
        }
        out[0] = Instant.parse("1970-01-01T00:00:00Z");
        out[1] = Instant.parse("0999-03-01T00:00:00.010Z");
        return out;
    }

    @Test
    void isoIsInstantToStringAndReadsBack() {
        for (Instant t : samples()) {
            String text = Timestamps.iso(t);
            assertThat(text).isEqualTo(t.toString());
            assertThat(Timestamps.parseIso(text)).isEqualTo(t);
        }
    }

    @Test
    void yearsOutsideTheFourDigitsAreLeftToTheJdk() {
        for (Instant t : new Instant[] {Instant.parse("+10000-01-01T00:00:00Z"), Instant.parse("-0001-12-31T23:59:59.5Z"), Instant.MAX, Instant.MIN}) {
            assertThat(Timestamps.iso(t)).isEqualTo(t.toString());
            assertThat(Timestamps.parseIso(t.toString())).isEqualTo(t);
        }
    }

    @Test
    void otherFormsReadAsTheJdkReadsThemAndBadOnesFailAsItsDo() {
        assertThat(Timestamps.parseIso("2026-12-05T05:16:00+01:00")).isEqualTo(Instant.parse("2026-12-05T04:16:00Z"));
        assertThat(Timestamps.parseIso("2026-12-05T04:16:00.123456789Z")).isEqualTo(Instant.parse("2026-12-05T04:16:00.123456789Z"));
        int failed = 0;
        for (String odd : new String[] {"", "2026-12-05", "2026-13-05T04:16:00Z", "2026-02-30T04:16:00Z", "2026-12-05T24:00:00Z",
                "2026-12-31T23:59:60Z", "2026-12-05T04:16:00.Z", "2026-12-05T04:16:00.1234567891Z", "2026-12-05t04:16:00Z",
                "2026-1x-05T04:16:00Z", "2026-12-05T04:16:60Z", "2026-12-05T04:16:00.12a4Z", "2026-12-05T04:16:00.1234567890"}) {
            Instant expected;
            try {
                expected = Instant.parse(odd);
            } catch (DateTimeParseException e) {
                failed++;
                assertThatThrownBy(() -> Timestamps.parseIso(odd)).as(odd).isInstanceOf(DateTimeParseException.class)
                        .hasMessage(e.getMessage());
                continue;
            }
            assertThat(Timestamps.parseIso(odd)).as(odd).isEqualTo(expected);
        }
        assertThat(failed).as("most of them are not times").isGreaterThanOrEqualTo(8);
    }

    @Test
    void rfc5322IsTheFormattersTextInEverySecond() {
        for (Instant t : samples()) {
            assertThat(Timestamps.rfc5322(t)).isEqualTo(RFC5322.format(t));
        }
        Instant t = Instant.parse("2026-12-05T04:16:48.9Z");
        assertThat(Timestamps.rfc5322(t)).isEqualTo("Sat, 5 Dec 2026 04:16:48 +0000");
        assertThat(Timestamps.rfc5322(t.plusMillis(100))).isEqualTo("Sat, 5 Dec 2026 04:16:49 +0000");
        assertThat(Timestamps.rfc5322(t.minusSeconds(1))).isEqualTo("Sat, 5 Dec 2026 04:16:47 +0000");
    }
}
