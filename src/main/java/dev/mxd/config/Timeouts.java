package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;

/**
 * How long the SMTP server waits for a client (RFC 5321 §4.5.3.2: at least 5 minutes for a
 * command, 10 minutes for the end of DATA), how long it pauses before the greeting's last
 * line to catch clients that talk before they are greeted, and how it slows and sheds clients.
 *
 * @param command              time allowed to complete a command, counted from the previous one (or the
 *                             connection, or the end of DATA); bytes that do not complete a command do not extend it
 * @param data                 idle time allowed while receiving message text
 * @param greetPause           pause between the first and the last line of the 220 greeting; 0 disables the check
 * @param errorDelay           wait before each reply once a session has made more than
 *                             {@link Limits#errorsBeforeDelay()} errors (Postfix's smtpd_error_sleep_time)
 * @param commandUnderPressure while a connection limit is reached, a session that has completed no command
 *                             for this long is closed (421 4.4.2) to make room for a new client (Postfix's
 *                             smtpd_timeout under stress is 10 s)
 * @param finalReply           a message not yet durable this long after its final dot (a slow filter engine,
 *                             messages queued for a store thread) is not stored and is answered 451 4.4.5: the
 *                             client waits 10 minutes for that reply (RFC 5321 §4.5.3.2.6), and a message stored
 *                             after it gave up would be accepted twice, since it sends the message again
 */
public record Timeouts(Duration command, Duration data, Duration greetPause, Duration errorDelay,
                       Duration commandUnderPressure, Duration finalReply) {

    /**
     * The default and the most {@code final-reply} may be: a minute less than the 10 minutes a client waits for the
     * reply to its final dot, for the commit that begins before it and the reply's way back.
     */
    private static final Duration FINAL_REPLY = Duration.ofMinutes(9);

    public static final Timeouts DEFAULTS = new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMillis(300),
            Duration.ofSeconds(1), Duration.ofSeconds(10), FINAL_REPLY);

    /** With the default {@code final-reply}. */
    public Timeouts(Duration command, Duration data, Duration greetPause, Duration errorDelay, Duration commandUnderPressure) {
        this(command, data, greetPause, errorDelay, commandUnderPressure, FINAL_REPLY);
    }

    public Timeouts {
        Durations.requirePositive("timeouts.command", command);
        Durations.requirePositive("timeouts.data", data);
        Durations.requirePositive("timeouts.command-under-pressure", commandUnderPressure);
        Durations.requirePositive("timeouts.final-reply", finalReply);
        Durations.requireAtMost("timeouts.final-reply", finalReply, FINAL_REPLY,
                "a client waits 10 minutes for the reply to its final dot (RFC 5321 §4.5.3.2.6), and the commit that begins"
                + " before the deadline and the reply need time after it");
        if (greetPause.isNegative() || errorDelay.isNegative()) {
            throw new IllegalArgumentException((greetPause.isNegative() ? "timeouts.greet-pause" : "timeouts.error-delay")
                    + " must be 0 or longer");
        }
        // A client waits 5 minutes for the greeting (RFC 5321 §4.5.3.2): a longer pause loses every sender, 5m meant 5s?
        Durations.requireAtMost("timeouts.greet-pause", greetPause, Duration.ofMinutes(1), "senders give up on a greeting after 5m");
        Duration most = Duration.ofHours(24); // the timers count int milliseconds
        Durations.requireAtMost("timeouts.command", command, most, "counted in int milliseconds");
        Durations.requireAtMost("timeouts.data", data, most, "counted in int milliseconds");
        Durations.requireAtMost("timeouts.error-delay", errorDelay, most, "counted in int milliseconds");
        Durations.requireAtMost("timeouts.command-under-pressure", commandUnderPressure, most, "counted in int milliseconds");
    }

    @JsonCreator
    static Timeouts fromYaml(@JsonProperty("command") Duration command, @JsonProperty("data") Duration data,
                             @JsonProperty("greet-pause") Duration greetPause,
                             @JsonProperty("error-delay") Duration errorDelay,
                             @JsonProperty("command-under-pressure") Duration commandUnderPressure,
                             @JsonProperty("final-reply") Duration finalReply) {
        return new Timeouts(command != null ? command : DEFAULTS.command(), data != null ? data : DEFAULTS.data(),
                greetPause != null ? greetPause : DEFAULTS.greetPause(),
                errorDelay != null ? errorDelay : DEFAULTS.errorDelay(),
                commandUnderPressure != null ? commandUnderPressure : DEFAULTS.commandUnderPressure(),
                finalReply != null ? finalReply : DEFAULTS.finalReply());
    }
}
