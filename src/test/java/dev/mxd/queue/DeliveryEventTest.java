package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The delivery log line and the queue ids are spelled by hand; they read as the formatter would have written them. */
class DeliveryEventTest {

    private static DeliveryEvent event(long delayMillis, DeliveryEvent.Outcome outcome, String detail) {
        Instant arrival = Instant.parse("2026-12-05T04:16:00Z");
        return new DeliveryEvent("MXID0001F", "bob@far.test", new Destination.Domain("far.test"), "mx.far.test[192.0.2.1]:25",
                outcome, "2.0.0", detail, arrival, arrival.plusMillis(delayMillis));
    }

    @Test
    void theDelayIsInSecondsWithTwoDecimalsRoundedHalfUp() {
        SplittableRandom random = new SplittableRandom(18);
        long[] fixed = {0, 4, 5, 6, 14, 15, 994, 995, 999, 1000, 1005, 125, 99_995, 86_400_000, -4, -5, -1234};
        for (int i = 0; i < 3000; i++) {
            long ms = i < fixed.length ? fixed[i] : i % 2 == 0 ? random.nextLong(0, 100_000) : random.nextLong(0, 10_000_000_000L);
            String expected = String.format(Locale.ROOT, "delay=%.2f,", ms / 1000.0);
            assertThat(event(ms, DeliveryEvent.Outcome.SENT, "250 ok").logLine()).as("%d ms", ms).contains(" " + expected + " ");
        }
    }

    @Test
    void theLineKeepsPostfixsShape() {
        assertThat(event(1520, DeliveryEvent.Outcome.SENT, "host mx.far.test[192.0.2.1] said: 250 2.0.0 Ok").logLine())
                .isEqualTo("MXID0001F: to=<bob@far.test>, relay=mx.far.test[192.0.2.1]:25, delay=1.52, dsn=2.0.0, status=sent (250 2.0.0 Ok)");
        assertThat(event(0, DeliveryEvent.Outcome.DEFERRED, "host x said: 451 \u0001later").logLine())
                .endsWith("delay=0.00, dsn=2.0.0, status=deferred (host x said: 451 \\x01later)");
    }

    @Test
    void queueIdsAreTheArrivalInBase36AndFiveHexDigits() {
        QueueIds ids = new QueueIds();
        long now = Instant.parse("2026-12-05T04:16:00.123Z").toEpochMilli();
        String a = ids.next(now);
        String b = ids.next(now);
        assertThat(a).matches("[0-9A-Z]+[0-9A-F]{5}").hasSize(Long.toString(now, 36).length() + 5);
        assertThat(a.substring(0, a.length() - 5)).isEqualTo(Long.toString(now, 36).toUpperCase(Locale.ROOT));
        long n = Long.parseLong(a.substring(a.length() - 5), 16);
        assertThat(Long.parseLong(b.substring(b.length() - 5), 16)).isEqualTo((n + 1) & 0xFFFFF);
        assertThat(QueueIds.arrival(a)).contains(Instant.ofEpochMilli(now));
    }
}
