package dev.mxd.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One mapping of the filter sections ({@code filters:}, {@code domains.NAME.filter:}) as the loader
 * reads it, in the same pass as the rest of the file. Every error is a {@link ConfigProblem}
 * whose message starts with the dotted key path as the operator reads it ("filters.clamd.address:
 * ...") and whose key path, relative to the section, lets the loader name the line at fault.
 */
final class Section {

    private final String path;
    private final List<String> keys;
    private final Map<?, ?> map;

    /**
     * @param path the dotted name of this mapping in messages, for example {@code filters.clamd}
     * @param keys the keys from the section's top to this mapping, as written in the file
     * @param map  the mapping as Jackson gives it
     */
    Section(String path, List<String> keys, Map<?, ?> map) {
        this.path = path;
        this.keys = List.copyOf(keys);
        this.map = map == null ? Map.of() : map;
    }

    /** The top of a section, named {@code path} in messages. */
    Section(String path, Map<?, ?> map) {
        this(path, List.of(), map);
    }

    String path() {
        return path;
    }

    String at(String key) {
        return path + "." + key;
    }

    /** A problem with this mapping as a whole. */
    ConfigProblem problem(String message) {
        return new ConfigProblem(keys, message, null);
    }

    /** A problem with the value of {@code key}. */
    ConfigProblem problem(String key, String message) {
        return problem(key, message, null);
    }

    /** A problem with the value of {@code key}, found by {@code cause}. */
    ConfigProblem problem(String key, String message, Throwable cause) {
        List<String> at = new ArrayList<>(keys);
        at.add(key);
        return new ConfigProblem(at, message, cause);
    }

    /** Rejects keys not in {@code known}: a misspelt key silently ignored is a filter silently off. */
    Section onlyKeys(String... known) {
        Set<String> allowed = Set.of(known);
        for (Object k : map.keySet()) {
            if (!allowed.contains(String.valueOf(k))) {
                throw problem(String.valueOf(k), path + ": unknown key '" + k + "' (known keys: "
                        + String.join(", ", new TreeSet<>(allowed)) + ")", null);
            }
        }
        return this;
    }

    Optional<String> string(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Map || v instanceof List) {
            throw problem(key, at(key) + ": expected a single value, not " + (v instanceof Map ? "a mapping" : "a list"));
        }
        return Optional.of(String.valueOf(v));
    }

    String required(String key, String example) {
        return string(key).filter(s -> !s.isBlank())
                .orElseThrow(() -> problem(key, at(key) + " is required, for example " + example));
    }

    Optional<Section> map(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw problem(key, at(key) + ": expected a mapping ({key: value, ...}), not '" + v + "'");
        }
        List<String> below = new ArrayList<>(keys);
        below.add(key);
        return Optional.of(new Section(at(key), below, m));
    }

    List<String> strings(String key) {
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw problem(key, at(key) + ": expected a list, like [clamd, spamd], not '" + v + "'");
        }
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            out.add(String.valueOf(o));
        }
        return out;
    }

    Optional<Double> number(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Number n) {
            return Optional.of(n.doubleValue());
        }
        try {
            return Optional.of(Double.parseDouble(String.valueOf(v).strip()));
        } catch (NumberFormatException e) {
            throw problem(key, at(key) + ": '" + v + "' is not a number (a score, like 5.0)", e);
        }
    }

    Optional<Boolean> bool(String key) {
        Optional<String> v = string(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        return switch (v.get().toLowerCase(Locale.ROOT)) {
            case "true", "yes" -> Optional.of(true);
            case "false", "no" -> Optional.of(false);
            default -> throw problem(key, at(key) + ": '" + v.get() + "' is not true or false");
        };
    }

    /** A duration in {@link Durations}' grammar, where a plain number means seconds: "30s", "500ms", "2m", "30". */
    Optional<Duration> duration(String key) {
        Optional<String> v = string(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String s = v.get().strip();
        Optional<Duration> read;
        try {
            read = Durations.read(s, Durations.BareNumber.SECONDS);
        } catch (IllegalArgumentException e) {
            throw problem(key, at(key) + ": " + e.getMessage(), e);
        }
        Duration d = read.orElseThrow(() -> problem(key,
                at(key) + ": '" + s + "' is not a duration: write a number and a unit, like 500ms, 30s or 2m"));
        if (d.isZero()) {
            throw problem(key, at(key) + ": a timeout must be longer than zero");
        }
        return Optional.of(d);
    }

    /** Bytes in {@link DataSize}' grammar: "25M", "512K", "1G" (powers of 1024, as clamd.conf writes them) or a plain number. */
    Optional<Long> size(String key) {
        Optional<String> v = string(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        Optional<DataSize> read;
        try {
            read = DataSize.read(v.get());
        } catch (IllegalArgumentException e) {
            throw problem(key, at(key) + ": " + e.getMessage(), e);
        }
        long n = read.orElseThrow(() -> problem(key,
                at(key) + ": '" + v.get() + "' is not a size: write bytes or a number with K, M or G, like 25M")).bytes();
        if (n == 0) {
            throw problem(key, at(key) + ": a size must be larger than zero");
        }
        return Optional.of(n);
    }

    /** One of {@code choices} (lower case in the file). */
    <E extends Enum<E>> Optional<E> choice(String key, Class<E> type) {
        Optional<String> v = string(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String wanted = v.get().strip().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(wanted)) {
                return Optional.of(e);
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw problem(key, at(key) + ": '" + v.get() + "' is not one of " + String.join(" | ", names));
    }
}
