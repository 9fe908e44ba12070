package dev.mxd.queue;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The times every accepted message writes and reads: the envelope's ISO 8601 instants and the
 * Received field's RFC 5322 date. Each is spelled exactly as {@link Instant#toString()},
 * {@link Instant#parse} and a {@link DateTimeFormatter} would, but without them on the path of
 * every message: their general machinery costs more than the rest of the envelope, and a freshly
 * started server spends its first seconds compiling it (docs/performance.md). Anything outside the
 * plain form (years before 0 or after 9999, a time with an offset) is left to the JDK.
 */
final class Timestamps {

    private static final DateTimeFormatter RFC5322 =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneOffset.UTC);
    /** 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the years whose ISO form has four digits and no sign. */
    private static final long MIN_SECOND = -62_167_219_200L;
    private static final long END_SECOND = 253_402_300_800L;

    /** A second and its text; one of each is kept, since most calls fall in the same second as the last. */
    private record Second(long epochSecond, String text) {}

    private static volatile Second lastIso = new Second(Long.MIN_VALUE, "");
    private static volatile Second lastRfc5322 = new Second(Long.MIN_VALUE, "");

    private Timestamps() {}

    /** As {@link Instant#toString()}: {@code 2026-12-05T04:16:48Z}, {@code .123Z}, {@code .123456Z} or {@code .123456789Z}. */
    static String iso(Instant t) {
        long s = t.getEpochSecond();
        if (s < MIN_SECOND || s >= END_SECOND) {
            return t.toString();
        }
        Second last = lastIso;
        if (last.epochSecond() != s) {
            // once a second, so the JDK's formatter: YYYY-MM-DDTHH:MM:SS, seconds always (no fraction at nano 0)
            last = new Second(s, DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(LocalDateTime.ofEpochSecond(s, 0, ZoneOffset.UTC)));
            lastIso = last;
        }
        int nano = t.getNano();
        StringBuilder b = new StringBuilder(30).append(last.text());
        if (nano > 0) {
            int digits = nano % 1_000_000 == 0 ? 3 : nano % 1_000 == 0 ? 6 : 9;
            String fraction = Integer.toString(1_000_000_000 + nano); // "1" and nine digits
            b.append('.').append(fraction, 1, 1 + digits);
        }
        return b.append('Z').toString();
    }

    /**
     * As {@link Instant#parse}: the plain form {@code YYYY-MM-DDTHH:MM:SS[.F…]Z} is read here,
     * any other text by the JDK, which also names what is wrong with a malformed one.
     */
    static Instant parseIso(CharSequence text) {
        int n = text.length();
        if (n >= 20 && n <= 30 && text.charAt(n - 1) == 'Z' && text.charAt(4) == '-' && text.charAt(7) == '-'
                && text.charAt(10) == 'T' && text.charAt(13) == ':' && text.charAt(16) == ':') {
            int year = digits(text, 0, 4);
            int month = digits(text, 5, 2);
            int day = digits(text, 8, 2);
            int hour = digits(text, 11, 2);
            int minute = digits(text, 14, 2);
            int second = digits(text, 17, 2);
            int nano = n == 20 ? 0 : fraction(text, 19, n - 1);
            if ((year | month | day | hour | minute | second | nano) >= 0) {
                try {
                    long s = LocalDateTime.of(year, month, day, hour, minute, second).toEpochSecond(ZoneOffset.UTC);
                    return Instant.ofEpochSecond(s, nano);
                } catch (DateTimeException e) {
                    // out of range (month 13, 24:00, 30 February): the JDK's parse says so
                }
            }
        }
        return Instant.parse(text);
    }

    /** As RFC 5322's date-time, in UTC: {@code Sat, 5 Dec 2026 04:16:48 +0000}. */
    static String rfc5322(Instant t) {
        long s = t.getEpochSecond();
        Second last = lastRfc5322;
        if (last.epochSecond() != s) {
            last = new Second(s, RFC5322.format(t));
            lastRfc5322 = last;
        }
        return last.text();
    }

    /** The decimal number in {@code count} ASCII digits from {@code at}, or -1 if one is not a digit. */
    private static int digits(CharSequence text, int at, int count) {
        int v = 0;
        for (int i = at; i < at + count; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** Nanoseconds from {@code .D…} between {@code at} and {@code end} (one to nine digits), or -1. */
    private static int fraction(CharSequence text, int at, int end) {
        int count = end - at - 1;
        if (text.charAt(at) != '.' || count < 1 || count > 9) {
            return -1;
        }
        int v = digits(text, at + 1, count);
        for (int i = count; i < 9 && v >= 0; i++) {
            v *= 10;
        }
        return v;
    }
}
