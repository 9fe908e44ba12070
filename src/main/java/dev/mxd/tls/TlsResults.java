package dev.mxd.tls;

import java.net.InetAddress;
import java.util.Optional;

/**
 * Where the outcome of every TLS decision is told, for TLS-RPT reports (RFC 8460) and metrics: one
 * call per session a delivery opened (or could not open) under a {@link HostTls}.
 */
public interface TlsResults {

    /** Tells nobody. */
    TlsResults NONE = (domain, host, address, tls, failure) -> { };

    /**
     * @param domain  the policy domain (the recipients' domain)
     * @param host    the MX host name
     * @param address the address connected to
     * @param tls     the decision the session was opened under
     * @param failure empty when TLS was set up as the decision asks; else what went wrong
     */
    void record(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure);

    /**
     * A failed TLS session, in RFC 8460 §4.3 terms.
     *
     * @param resultType "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
     *                   "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
     *                   "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"
     * @param detail     a sentence for the report's failure-reason-code and for logs
     */
    record Failure(String resultType, String detail) {}
}
