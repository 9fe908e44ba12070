package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A size in bytes written as an operator would: {@code 25MB}, {@code 512KB}, {@code 1GB}, {@code 1000} (binary units). */
public record DataSize(long bytes) {

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(B|KB|K|MB|M|GB|G)?");

    public DataSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("a size cannot be negative");
        }
    }

    @JsonCreator
    public static DataSize parse(String text) {
        Matcher m = FORM.matcher(text.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size; write it like 25MB, 512KB, 1GB or a number of bytes");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        int shift = switch (unit.charAt(0)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return new DataSize(n << shift);
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
