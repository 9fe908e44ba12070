package dev.mxd.config;

import java.util.Locale;

/**
 * What mxd does with DNSSEC ({@code dns.dnssec}): validate every answer from the trust anchors,
 * never validate, or decide once at start-up (and at each hourly re-check) from whether the
 * configured resolvers serve the anchors' keys with valid signatures.
 */
public enum DnssecMode {
    AUTO, VALIDATE, OFF;

    /** The word as configuration and the command line write it. */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code auto}, {@code validate} or {@code off}; throws IllegalArgumentException with a sentence otherwise. */
    public static DnssecMode parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        return switch (t) {
            case "auto" -> AUTO;
            case "validate" -> VALIDATE;
            case "off", "false" -> OFF;
            default -> throw new IllegalArgumentException("'" + text + "' is not auto, validate or off");
        };
    }
}
