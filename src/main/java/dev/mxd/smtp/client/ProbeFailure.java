package dev.mxd.smtp.client;

/** Why an SMTP session stopped, whatever the stage: used by {@link SmtpProbe} and {@link SmtpConnection}. */
public enum ProbeFailure {
    /** Nothing listens: the host answered the connection with a reset. */
    REFUSED,
    /** No route, network unreachable, or another connect error. */
    UNREACHABLE,
    /** The connect or the reply did not come within its time limit. */
    TIMEOUT,
    /** The server answered with 4yz or 5yz. */
    REJECTED,
    /** The server closed the connection. */
    CLOSED,
    /** The server sent something that is not an SMTP reply. */
    PROTOCOL_ERROR;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
