package dev.mxd.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar for durations, in the configuration file and on the command line alike: a whole
 * number and a unit, {@code 500ms}, {@code 30s}, {@code 5m}, {@code 4h}, {@code 5d} (units in any
 * case, spaces allowed before the unit). Where a bare number has a meaning (seconds, in the
 * filter timeouts), the reader says so with {@link BareNumber}; each reader words its own message
 * for text outside the grammar, naming its key or option.
 */
public final class Durations {

    /** What a number written without a unit means where it is read. */
    public enum BareNumber {
        /** Not a duration: the unit is required. */
        REFUSED,
        /** A number of seconds. */
        SECONDS
    }

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

    private Durations() {}

    /** A duration with its unit, as the configuration's duration keys take it. */
    public static Duration parse(String text) {
        return read(text, BareNumber.REFUSED).orElseThrow(
                () -> new IllegalArgumentException("'" + text + "' is not a duration; write it like 500ms, 30s, 5m, 4h or 5d"));
    }

    /**
     * The duration {@code text} writes, or empty when it is not in the grammar.
     *
     * @throws IllegalArgumentException when the number is too large for a duration
     */
    public static Optional<Duration> read(String text, BareNumber bare) {
        Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches() || m.group(2) == null && bare == BareNumber.REFUSED) {
            return Optional.empty();
        }
        try {
            long n = Long.parseLong(m.group(1));
            return Optional.of(switch (m.group(2) == null ? "s" : m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is too long a duration", e);
        }
    }

    /**
     * Refuses a zero or negative duration. Here rather than in {@link Delivery}: the nested
     * {@code Delivery.Retry} calling a {@code Delivery} method from its constructor started
     * {@code Delivery}'s class initialisation in the middle of its own, and {@code Delivery.DEFAULTS}
     * then got a null {@code retry} when {@code Retry} happened to be loaded first.
     */
    static void requirePositive(String key, Duration d) {
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(key + " must be longer than 0 (got " + d + ")");
        }
    }

    /** Refuses a duration longer than {@code max}: what waits for a network peer is counted in int milliseconds. */
    static void requireAtMost(String key, Duration d, Duration max, String why) {
        if (d.compareTo(max) > 0) {
            throw new IllegalArgumentException(key + " is at most " + format(max) + " (got " + format(d) + "): " + why);
        }
    }

    /** The shortest exact form, for printing a configuration back. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0 && ms != 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms % 3_600_000 == 0 && ms != 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms != 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
