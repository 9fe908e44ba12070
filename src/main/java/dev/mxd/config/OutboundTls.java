package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code delivery.tls} key: which authenticated-TLS policies delivery follows (docs/tls-policy.md).
 *
 * @param dane    DANE for SMTP (RFC 7672): acts only while DNSSEC validation is on (default on)
 * @param mtaSts  MTA-STS (RFC 8461) (default on)
 * @param caFile  PEM certificates trusted for MTA-STS (its policy fetch and the MX certificates) in place
 *                of the JDK's trust store
 * @param reports TLS-RPT aggregate reports (RFC 8460) sent to the domains that ask for them (default on)
 * @param reportDkim the DKIM key report mail is signed with; empty: report mail goes unsigned
 */
public record OutboundTls(boolean dane, boolean mtaSts, Optional<Path> caFile, boolean reports, Optional<ReportDkim> reportDkim) {

    /** Without a DKIM key for report mail. */
    public OutboundTls(boolean dane, boolean mtaSts, Optional<Path> caFile, boolean reports) {
        this(dane, mtaSts, caFile, reports, Optional.empty());
    }

    public static final OutboundTls DEFAULTS = new OutboundTls(true, true, Optional.empty(), true);

    @JsonCreator
    static OutboundTls fromYaml(@JsonProperty("dane") Object dane, @JsonProperty("mta-sts") Object mtaSts,
                                @JsonProperty("ca-file") String caFile, @JsonProperty("reports") Object reports,
                                @JsonProperty("report-dkim") ReportDkim reportDkim) {
        Optional<Path> ca = Optional.ofNullable(caFile).map(String::strip).map(Path::of);
        if (ca.isPresent() && !Files.isReadable(ca.get())) {
            throw new ConfigProblem(List.of("delivery", "tls", "ca-file"), "delivery.tls.ca-file " + ca.get()
                    + " does not exist or cannot be read; give a file of PEM certificates, or leave the key out for the JDK's trust store", null);
        }
        return new OutboundTls(onOff("dane", dane), onOff("mta-sts", mtaSts), ca, onOff("reports", reports),
                Optional.ofNullable(reportDkim));
    }

    /** {@code on} or {@code off}, as YAML booleans or strings; absent: on. */
    private static boolean onOff(String key, Object value) {
        if (value == null) {
            return true;
        }
        return switch (String.valueOf(value).strip().toLowerCase(Locale.ROOT)) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new ConfigProblem(List.of("delivery", "tls", key),
                    "delivery.tls." + key + ": '" + value + "' is not on or off", null);
        };
    }
}
