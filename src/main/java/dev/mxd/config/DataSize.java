package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A size in bytes, and the one grammar for sizes wherever mxd reads one: a whole number of bytes,
 * or a number and {@code K}/{@code KB}/{@code KiB}, {@code M}/{@code MB}/{@code MiB}, {@code G}/{@code GB}/{@code GiB}
 * (binary units, any case, as clamd.conf writes them too): {@code 25MB}, {@code 25M}, {@code 25MiB}, {@code 512KB},
 * {@code 1000}.
 */
public record DataSize(long bytes) {

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(B|KB|K|KIB|MB|M|MIB|GB|G|GIB)?");

    public DataSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("a size cannot be negative");
        }
    }

    /** A size key of the configuration: the message names the value and says what is expected. */
    @JsonCreator
    public static DataSize parse(String text) {
        return read(text).orElseThrow(
                () -> new IllegalArgumentException("'" + text + "' is not a size; write it like 25MB, 512KB, 1GB or a number of bytes"));
    }

    /**
     * The size {@code text} writes, or empty when it is not in the grammar.
     *
     * @throws IllegalArgumentException when the size does not fit in a long
     */
    public static Optional<DataSize> read(String text) {
        Matcher m = FORM.matcher(text.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            return Optional.empty();
        }
        String unit = m.group(2) == null ? "B" : m.group(2);
        int shift = switch (unit.charAt(0)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) { // more digits than a long holds
            throw new IllegalArgumentException("'" + text + "' is too large", e);
        }
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return Optional.of(new DataSize(n << shift));
    }

    @JsonCreator
    public static DataSize ofBytes(long bytes) {
        return new DataSize(bytes);
    }

    @JsonValue
    @Override
    public String toString() {
        if (bytes != 0 && bytes % (1 << 20) == 0) {
            return bytes / (1 << 20) + "MB";
        }
        if (bytes != 0 && bytes % 1024 == 0) {
            return bytes / 1024 + "KB";
        }
        return Long.toString(bytes);
    }
}
