package dev.mxd.dns;

/** A mail exchanger that is not tried, why in a sentence, and why as a {@link Cause} programs can act on. */
public record SkippedHost(int preference, String name, String reason, Cause cause) {

    /** Why an exchange was left out; decides whether the domain's DNS is broken or just busy. */
    public enum Cause {
        /** The exchange is an IP address, not a host name (RFC 5321 §5.1, RFC 1035 §3.3.9). */
        IP_LITERAL,
        /** The exchange is an alias and strict CNAME handling is on (RFC 2181 §10.3). */
        ALIAS,
        /** The exchange does not exist or has no A or AAAA records. */
        NO_ADDRESSES,
        /** Looking up its addresses failed for now (SERVFAIL, timeout): a temporary condition. */
        LOOKUP_FAILED,
        /**
         * Its address records failed DNSSEC validation (bogus, RFC 4035 §4.3): not used. A lasting fault of its zone,
         * not a busy server, though delivery waits for it as for a failed lookup (the signatures may be fixed).
         */
        BOGUS,
        /** The exchange is this host (RFC 5321 §5.1 loop prevention). */
        LOCAL,
        /** The exchange is not better than this host's own preference (RFC 5321 §5.1). */
        NOT_BETTER_THAN_LOCAL
    }
}
