package dev.mxd.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Durations on the command line as operators write them: "500ms", "5s", "30s", "2m", "1h". */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    private static final Pattern SYNTAX = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

    @Override
    public Duration convert(String value) {
        Matcher m = SYNTAX.matcher(value.strip());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration: write a number and a unit,"
                    + " like 500ms, 5s, 30s or 2m");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.isZero()) {
            throw new CommandLine.TypeConversionException("'" + value + "': a timeout must be longer than zero");
        }
        return d;
    }
}
