package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.mxd.smtp.BareLf;

/**
 * Bounds that keep one client from exhausting the server.
 *
 * @param maxMessageSize       largest message accepted (advertised with SIZE, RFC 1870)
 * @param maxRecipients        RCPTs per transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks for at least 100)
 * @param maxConnections       SMTP connections at once
 * @param maxConnectionsPerIp  SMTP connections at once from one client address
 * @param maxLineLength        longest command line in octets, CRLF included (RFC 5321 §4.5.3.1.4 needs 512)
 * @param maxDataLineLength    longest line of message text in octets, CRLF included (RFC 5321 §4.5.3.1.6 needs 1000)
 * @param maxHops              most Received header fields a message may arrive with (RFC 5321 §6.3: a loop is
 *                             detected by counting them; Postfix's hopcount_limit is 50)
 * @param bareLf               a line feed without CR before it: refused, or taken as a line end (docs/config.md
 *                             argues for normalize); either way only CRLF.CRLF ends the message text
 */
public record Limits(DataSize maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerIp,
                     int maxLineLength, int maxDataLineLength, int maxHops, BareLf bareLf) {

    public static final Limits DEFAULTS = new Limits(DataSize.parse("25MB"), 100, 500, 20, 2048, 65536, 50, BareLf.NORMALIZE);

    public Limits {
        positive("max-recipients", maxRecipients);
        positive("max-connections", maxConnections);
        positive("max-connections-per-ip", maxConnectionsPerIp);
        positive("max-hops", maxHops);
        java.util.Objects.requireNonNull(bareLf, "bare-lf");
        if (maxLineLength < 512) {
            throw new IllegalArgumentException("max-line-length must be at least 512 (RFC 5321 §4.5.3.1.4)");
        }
        if (maxDataLineLength < 1000) {
            throw new IllegalArgumentException("max-data-line-length must be at least 1000 (RFC 5321 §4.5.3.1.6)");
        }
    }

    @JsonCreator
    static Limits fromYaml(@JsonProperty("max-message-size") DataSize maxMessageSize,
                           @JsonProperty("max-recipients") Integer maxRecipients,
                           @JsonProperty("max-connections") Integer maxConnections,
                           @JsonProperty("max-connections-per-ip") Integer maxConnectionsPerIp,
                           @JsonProperty("max-line-length") Integer maxLineLength,
                           @JsonProperty("max-data-line-length") Integer maxDataLineLength,
                           @JsonProperty("max-hops") Integer maxHops,
                           @JsonProperty("bare-lf") String bareLf) {
        Limits d = DEFAULTS;
        return new Limits(maxMessageSize != null ? maxMessageSize : d.maxMessageSize(),
                maxRecipients != null ? maxRecipients : d.maxRecipients(),
                maxConnections != null ? maxConnections : d.maxConnections(),
                maxConnectionsPerIp != null ? maxConnectionsPerIp : d.maxConnectionsPerIp(),
                maxLineLength != null ? maxLineLength : d.maxLineLength(),
                maxDataLineLength != null ? maxDataLineLength : d.maxDataLineLength(),
                maxHops != null ? maxHops : d.maxHops(),
                bareLf != null ? BareLf.parse(bareLf) : d.bareLf());
    }

    private static void positive(String key, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(key + " must be at least 1, not " + value);
        }
    }
}
