package dev.mxd.smtp.client;

import java.util.Locale;

/** Where in an outbound SMTP session something happened, in the order a session goes through them. */
public enum SessionStage {
    /** Opening the TCP connection. */
    CONNECT,
    /** Waiting for the 220 greeting (RFC 5321 §3.1). */
    GREETING,
    /** EHLO, or HELO after EHLO got 5yz (RFC 5321 §4.1.1.1, §3.2), also the EHLO repeated after TLS. */
    EHLO,
    /** The STARTTLS command (RFC 3207 §4). */
    STARTTLS,
    /** The TLS handshake after the server's 220 to STARTTLS. */
    TLS_HANDSHAKE,
    /** RSET before a new transaction (RFC 5321 §4.1.1.5). */
    RSET,
    /** MAIL FROM (RFC 5321 §4.1.1.2), or the local checks before it (SIZE, SMTPUTF8). */
    MAIL,
    /** RCPT TO (RFC 5321 §4.1.1.3). */
    RCPT,
    /** The DATA command, up to the 354 reply (RFC 5321 §4.1.1.4). */
    DATA,
    /** Sending the message content. */
    MESSAGE,
    /** Waiting for the reply to the final "." that ends the content. */
    FINAL_DOT;

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
