package dev.mxd.smtp.client;

/** Whether a delivery session uses STARTTLS (RFC 3207). */
public enum TlsPolicy {
    /** Plain text only, even when STARTTLS is offered (the fallback after a failed handshake). */
    NONE,
    /**
     * STARTTLS when the server offers it, without verifying its certificate (RFC 7435 §3:
     * opportunistic security protects against passive eavesdropping, and refusing an unverified
     * certificate would only push the mail back to plain text). Plain text when not offered.
     */
    OPPORTUNISTIC,
    /** TLS or no delivery: a server that does not offer STARTTLS, or a failed handshake, is a session failure. */
    REQUIRE
}
