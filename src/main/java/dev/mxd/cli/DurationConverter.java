package dev.mxd.cli;

import dev.mxd.config.Durations;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine;

/**
 * Durations on the command line, in the configuration's own grammar ({@link Durations}): "500ms",
 * "5s", "30s", "2m", "1h". A unit is required and a timeout of zero is refused.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        Optional<Duration> read;
        try {
            read = Durations.read(value, Durations.BareNumber.REFUSED);
        } catch (IllegalArgumentException e) { // too large
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
        Duration d = read.orElseThrow(() -> new CommandLine.TypeConversionException(
                "'" + value + "' is not a duration: write a number and a unit, like 500ms, 5s, 30s or 2m"));
        if (d.isZero()) {
            throw new CommandLine.TypeConversionException("'" + value + "': a timeout must be longer than zero");
        }
        return d;
    }
}
