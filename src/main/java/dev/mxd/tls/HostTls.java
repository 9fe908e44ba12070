package dev.mxd.tls;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.client.ServerAuthentication;
import java.util.List;

/**
 * What TLS the delivery to one MX host must use, decided in the order of docs/tls-policy.md:
 * DNSSEC, DANE, MTA-STS, then opportunistic STARTTLS.
 */
public sealed interface HostTls {

    /** The policy this decision comes from, as an RFC 8460 report names it. */
    ReportedPolicy policy();

    /**
     * No policy applies: STARTTLS when offered, unverified, plain text otherwise (RFC 7435). {@code policyUnknown}:
     * a policy may exist but cannot be known now (the domain announces an MTA-STS policy that could not be fetched,
     * or its TXT lookup failed) — mail that needs a policy (REQUIRETLS) waits rather than being returned.
     */
    /**
     * ({@code policyFailure}: why that policy cannot be known, for the TLS report.)
     */
    record Opportunistic(boolean policyUnknown, java.util.Optional<TlsResults.Failure> policyFailure) implements HostTls {
        /** No policy, for certain. */
        public Opportunistic() {
            this(false);
        }

        public Opportunistic(boolean policyUnknown) {
            this(policyUnknown, java.util.Optional.empty());
        }

        /**
         * "no-policy-found"; or, when {@code policyFailure} says the domain's MTA-STS policy could not be fetched or
         * read, an "sts" policy without text, under which each session counts as that failure (RFC 8460 §4.3.2.2).
         */
        public ReportedPolicy policy() {
            return policyFailure.isPresent() ? ReportedPolicy.STS_UNREAD : ReportedPolicy.NONE;
        }
    }

    /**
     * TLS is mandatory and the certificate must pass {@code authentication} (DANE, MTA-STS enforce);
     * a failure defers this host (4.7.5) and the next MX host is tried.
     */
    record Authenticated(ServerAuthentication authentication, ReportedPolicy policy) implements HostTls {}

    /**
     * TLS is mandatory but the certificate is not checked: DANE with TLSA records none of which is usable
     * (RFC 7672 §2.2: the client must use TLS but cannot authenticate the server). A host without
     * STARTTLS, or whose handshake fails, is not used.
     */
    record Encrypted(ReportedPolicy policy) implements HostTls {}

    /**
     * MTA-STS {@code testing} (RFC 8461 §5): the certificate is checked and the result reported, but the
     * mail goes as under {@link Opportunistic} whatever the check finds.
     */
    record Tested(ServerAuthentication authentication, ReportedPolicy policy) implements HostTls {}

    /**
     * This host may not be used for the mail (not among an enforced MTA-STS policy's {@code mx}, or its
     * TLSA records could not be looked up on a secure zone); {@code status} is what the recipients get
     * when no other host takes the mail.
     */
    record Unusable(EnhancedStatus status, String reason, String resultType, ReportedPolicy policy) implements HostTls {}

    /**
     * A policy as RFC 8460 §4.3 reports it: its type ("tlsa", "sts", "no-policy-found"), its text
     * (TLSA records, or the MTA-STS policy's lines) and, for MTA-STS, its {@code mx} patterns.
     */
    record ReportedPolicy(String type, List<String> strings, List<String> mxHosts) {
        public static final ReportedPolicy NONE = new ReportedPolicy("no-policy-found", List.of(), List.of());
        /** An MTA-STS policy the domain announces but that could not be fetched or read. */
        public static final ReportedPolicy STS_UNREAD = new ReportedPolicy("sts", List.of(), List.of());

        public ReportedPolicy {
            strings = List.copyOf(strings);
            mxHosts = List.copyOf(mxHosts);
        }
    }
}
