package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;

/**
 * How long the SMTP server waits for a client (RFC 5321 §4.5.3.2: at least 5 minutes for a
 * command, 10 minutes for the end of DATA), and how long it pauses before the greeting's last
 * line to catch clients that talk before they are greeted.
 *
 * @param command    idle time allowed while waiting for a command
 * @param data       idle time allowed while receiving message text
 * @param greetPause pause between the first and the last line of the 220 greeting; 0 disables the check
 */
public record Timeouts(Duration command, Duration data, Duration greetPause) {

    public static final Timeouts DEFAULTS = new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMillis(300));

    public Timeouts {
        if (command.isZero() || command.isNegative() || data.isZero() || data.isNegative() || greetPause.isNegative()) {
            throw new IllegalArgumentException("timeouts must be positive (greet-pause may be 0)");
        }
    }

    @JsonCreator
    static Timeouts fromYaml(@JsonProperty("command") Duration command, @JsonProperty("data") Duration data,
                             @JsonProperty("greet-pause") Duration greetPause) {
        return new Timeouts(command != null ? command : DEFAULTS.command(), data != null ? data : DEFAULTS.data(),
                greetPause != null ? greetPause : DEFAULTS.greetPause());
    }
}
