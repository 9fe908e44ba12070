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
     * A session that opened, with what its TLS was. By default told as {@link #record}; a listener that
     * shows how each host was authenticated (the {@code mxd demo --secure} timeline) reads {@code session} too.
     */
    default void opened(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure,
                        Session session) {
        record(domain, host, address, tls, failure);
    }

    /** These results told to {@code this} and then to {@code other}: a node's own sink and a listener beside it. */
    default TlsResults and(TlsResults other) {
        TlsResults first = this;
        return new TlsResults() {
            @Override
            public void record(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure) {
                first.record(domain, host, address, tls, failure);
                other.record(domain, host, address, tls, failure);
            }

            @Override
            public void opened(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure,
                               Session session) {
                first.opened(domain, host, address, tls, failure, session);
                other.opened(domain, host, address, tls, failure, session);
            }
        };
    }

    /**
     * The TLS of a session that opened.
     *
     * @param protocol      the TLS protocol ("TLSv1.3"); empty in plain text
     * @param authenticated how the server's certificate matched the decision's authentication
     *                      ("DANE-EE(3) SPKI SHA2-256"); empty when it was not checked or did not match
     */
    record Session(Optional<String> protocol, Optional<String> authenticated) {}

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
