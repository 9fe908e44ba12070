package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code log:} key: how much {@code mxd serve} logs and where. One line per event with the
 * queue id, in Postfix's form (docs/operations.md), to standard output or appended to a file.
 *
 * @param level the least severe level written for mxd's own loggers
 * @param file  a file to append to; empty means standard output
 */
public record Logging(Level level, Optional<Path> file) {

    public static final Logging DEFAULTS = new Logging(Level.INFO, Optional.empty());

    /** Logback's levels, by the names written in the file. */
    public enum Level {
        TRACE, DEBUG, INFO, WARN, ERROR, OFF;

        static Level parse(String text) {
            try {
                return valueOf(text.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("log.level '" + text + "' is not one of trace, debug, info, warn, error, off");
            }
        }
    }

    @JsonCreator
    static Logging fromYaml(@JsonProperty("level") Object level, @JsonProperty("file") String file) {
        // "level: off" unquoted is a YAML boolean false, as dns.dnssec's off is: read as off
        return new Logging(level == null ? Level.INFO : Boolean.FALSE.equals(level) ? Level.OFF : Level.parse(String.valueOf(level)),
                file == null || file.isBlank() ? Optional.empty() : Optional.of(Path.of(file)));
    }
}
