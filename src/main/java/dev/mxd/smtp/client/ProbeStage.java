package dev.mxd.smtp.client;

/** Where in the opening of an SMTP session a probe stopped. */
public enum ProbeStage {
    /** Opening the TCP connection. */
    CONNECT,
    /** Waiting for the server's 220 greeting (RFC 5321 §3.1, §4.3.1). */
    GREETING,
    /** EHLO, or HELO after EHLO was refused (RFC 5321 §4.1.1.1). */
    EHLO;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
