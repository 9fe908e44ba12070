package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.mxd.smtp.BareLf;

/**
 * Bounds that keep one client from exhausting the server.
 *
 * @param maxMessageSize            largest message accepted (advertised with SIZE, RFC 1870)
 * @param maxRecipients             RCPTs per transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks for at least 100)
 * @param maxConnections            SMTP connections at once
 * @param maxConnectionsPerIp       SMTP connections at once from one client address
 * @param maxConnectionsPerNetwork  SMTP connections at once from one client network (an IPv4 /24, an IPv6 /64)
 * @param maxLineLength             longest command line in octets, CRLF included (RFC 5321 §4.5.3.1.4 needs 512)
 * @param maxDataLineLength         longest line of message text in octets, CRLF included (RFC 5321 §4.5.3.1.6 needs 1000)
 * @param maxHops                   most Received header fields a message may arrive with (RFC 5321 §6.3: a loop is
 *                                  detected by counting them; Postfix's hopcount_limit is 50)
 * @param maxJunkCommands           NOOP, RSET, VRFY, HELP, ETRN, HELO and EHLO commands a session may give without delivering a
 *                                  message; each one beyond counts as an error (Postfix's smtpd_junk_command_limit)
 * @param errorsBeforeDelay         errors a session may make without delivering a message before every further
 *                                  reply waits {@link Timeouts#errorDelay()} (Postfix's smtpd_soft_error_limit)
 * @param maxErrors                 errors after which the session gets 421 4.7.0 and is closed (Postfix's
 *                                  smtpd_hard_error_limit)
 * @param minFreeSpace              free space the spool's file system should keep; below it /health fails (by default
 *                                  1.5 times maxMessageSize, where Postfix's smtpd starts refusing mail)
 * @param bareLf                    a line feed without CR before it: refused, or taken as a line end (docs/config.md
 *                                  argues for normalize); either way only CRLF.CRLF ends the message text
 */
public record Limits(DataSize maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerIp,
                     int maxConnectionsPerNetwork, int maxLineLength, int maxDataLineLength, int maxHops,
                     int maxJunkCommands, int errorsBeforeDelay, int maxErrors, DataSize minFreeSpace, BareLf bareLf) {

    public static final Limits DEFAULTS = new Limits(DataSize.parse("25MB"), 100, 500, 20, 100, 2048, 65536, 50, 100, 10, 20,
            minFreeSpaceFor(DataSize.parse("25MB")), BareLf.NORMALIZE);

    /** The default of min-free-space: room for one and a half messages of the largest size. */
    static DataSize minFreeSpaceFor(DataSize maxMessageSize) {
        long b = maxMessageSize.bytes();
        return DataSize.ofBytes(b > Long.MAX_VALUE / 3 * 2 ? Long.MAX_VALUE : b + b / 2);
    }

    public Limits {
        if (maxMessageSize.bytes() < 1) {
            // sendmail's MaxMessageSize=0 means no limit; here it would be advertised as SIZE 0 ("no fixed maximum",
            // RFC 1870) and then refuse every message with 552
            throw problem("max-message-size", "max-message-size must be more than 0: mxd has no unlimited size (the"
                    + " spool's disk is the limit an unbounded size hands to any client); write the largest message to take,"
                    + " like 100MB");
        }
        positive("max-recipients", maxRecipients);
        positive("max-connections", maxConnections);
        positive("max-connections-per-ip", maxConnectionsPerIp);
        positive("max-connections-per-network", maxConnectionsPerNetwork);
        positive("max-hops", maxHops);
        positive("max-errors", maxErrors);
        if (maxJunkCommands < 0 || errorsBeforeDelay < 0) {
            throw new IllegalArgumentException("max-junk-commands and errors-before-delay must be at least 0, not "
                    + maxJunkCommands + " and " + errorsBeforeDelay);
        }
        java.util.Objects.requireNonNull(bareLf, "bare-lf");
        if (maxLineLength < 512) {
            throw problem("max-line-length", "max-line-length must be at least 512 (RFC 5321 §4.5.3.1.4)");
        }
        if (maxDataLineLength < 1000) {
            throw problem("max-data-line-length", "max-data-line-length must be at least 1000 (RFC 5321 §4.5.3.1.6)");
        }
    }

    @JsonCreator
    static Limits fromYaml(@JsonProperty("max-message-size") DataSize maxMessageSize,
                           @JsonProperty("max-recipients") Integer maxRecipients,
                           @JsonProperty("max-connections") Integer maxConnections,
                           @JsonProperty("max-connections-per-ip") Integer maxConnectionsPerIp,
                           @JsonProperty("max-connections-per-network") Integer maxConnectionsPerNetwork,
                           @JsonProperty("max-line-length") Integer maxLineLength,
                           @JsonProperty("max-data-line-length") Integer maxDataLineLength,
                           @JsonProperty("max-hops") Integer maxHops,
                           @JsonProperty("max-junk-commands") Integer maxJunkCommands,
                           @JsonProperty("errors-before-delay") Integer errorsBeforeDelay,
                           @JsonProperty("max-errors") Integer maxErrors,
                           @JsonProperty("min-free-space") DataSize minFreeSpace,
                           @JsonProperty("bare-lf") String bareLf) {
        Limits d = DEFAULTS;
        return new Limits(maxMessageSize != null ? maxMessageSize : d.maxMessageSize(),
                maxRecipients != null ? maxRecipients : d.maxRecipients(),
                maxConnections != null ? maxConnections : d.maxConnections(),
                maxConnectionsPerIp != null ? maxConnectionsPerIp : d.maxConnectionsPerIp(),
                maxConnectionsPerNetwork != null ? maxConnectionsPerNetwork : d.maxConnectionsPerNetwork(),
                maxLineLength != null ? maxLineLength : d.maxLineLength(),
                maxDataLineLength != null ? maxDataLineLength : d.maxDataLineLength(),
                maxHops != null ? maxHops : d.maxHops(),
                maxJunkCommands != null ? maxJunkCommands : d.maxJunkCommands(),
                errorsBeforeDelay != null ? errorsBeforeDelay : d.errorsBeforeDelay(),
                maxErrors != null ? maxErrors : d.maxErrors(),
                minFreeSpace != null ? minFreeSpace : minFreeSpaceFor(maxMessageSize != null ? maxMessageSize : d.maxMessageSize()),
                bareLf != null ? BareLf.parse(bareLf) : d.bareLf());
    }

    private static void positive(String key, int value) {
        if (value < 1) {
            throw problem(key, key + " must be at least 1, not " + value);
        }
    }

    /** A mistake at limits.KEY: reported at that key's line, not where the limits mapping ends. */
    private static ConfigProblem problem(String key, String message) {
        return new ConfigProblem(java.util.List.of("limits", key), message.startsWith(key) ? "limits." + message : message, null);
    }
}
