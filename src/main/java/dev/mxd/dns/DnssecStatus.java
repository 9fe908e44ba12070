package dev.mxd.dns;

import java.util.Locale;

/**
 * The security status of a DNS answer as RFC 4035 §4.3 names it: {@code SECURE} (a chain of
 * signatures from a trust anchor), {@code INSECURE} (no anchor covers the name, validation is off,
 * or a signed parent proved the zone unsigned) or {@code BOGUS} (the chain should be there and is
 * broken: a temporary failure, never used as if unsigned).
 */
public enum DnssecStatus {
    SECURE, INSECURE, BOGUS;

    /** The word {@code mxd lookup --json} prints. */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The status of data that needed both answers: bogus beats insecure beats secure. */
    public DnssecStatus and(DnssecStatus other) {
        return ordinal() >= other.ordinal() ? this : other;
    }
}
