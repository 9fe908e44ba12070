package dev.mxd.smtp.client;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * How the certificate an MX host presents after STARTTLS must be authenticated: by its TLSA records
 * (DANE, RFC 7672) or by the Web PKI and the MX name (MTA-STS, RFC 8461). The handshake itself
 * accepts any certificate; {@link SmtpConnection} checks the chain with this once it completes, so
 * that a failed check is told apart from a failed handshake. Under {@link TlsPolicy#REQUIRE} a
 * failed check ends the session ({@link SessionFailure.Cause#UNAUTHENTICATED}); under
 * {@link TlsPolicy#OPPORTUNISTIC} (an MTA-STS policy in {@code testing} mode) the session goes on and
 * the connection tells what the check found.
 */
public interface ServerAuthentication {

    /** "DANE", "MTA-STS": for logs, reasons and the delivery timeline. */
    String method();

    /**
     * Checks the chain the server presented (its own certificate first) for MX host {@code host}.
     *
     * @return how it matched, for logs ("DANE-EE(3) SPKI SHA2-256")
     * @throws Rejected when the chain does not authenticate the server, with the RFC 8460 result type
     */
    String verify(List<X509Certificate> chain, String host) throws Rejected;

    /**
     * The name to send in TLS SNI when it is not the MX host's: DANE sends the TLSA base domain
     * (RFC 7672 §8.1), which for a secure alias is the expanded name, so a server that picks its
     * certificate by SNI presents the one its TLSA records describe.
     */
    default java.util.Optional<String> serverName() {
        return java.util.Optional.empty();
    }

    /**
     * The server's certificate does not authenticate it.
     */
    final class Rejected extends CertificateException {
        private final String resultType;

        /**
         * @param resultType the RFC 8460 §4.3 result type: "certificate-host-mismatch", "certificate-expired",
         *                   "certificate-not-trusted", "validation-failure"
         * @param message    what did not match, in a sentence
         */
        public Rejected(String resultType, String message) {
            super(message);
            this.resultType = resultType;
        }

        public String resultType() {
            return resultType;
        }
    }
}
