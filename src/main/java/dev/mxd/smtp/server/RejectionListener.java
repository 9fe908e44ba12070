package dev.mxd.smtp.server;

/**
 * Told of every refusal the SMTP server sends (any 4xx or 5xx reply), so that the operations side
 * can count them by stage and code without this package knowing it. Called on a Netty event loop:
 * it must return at once.
 */
@FunctionalInterface
public interface RejectionListener {

    /** Counts nothing. */
    RejectionListener NONE = (stage, code) -> {};

    /**
     * @param stage one of connect, helo, ehlo, starttls, mail, rcpt, data, end-of-data, rset, noop,
     *              vrfy, help, quit, unknown (the command the reply answers; end-of-data is the reply
     *              after the message text)
     * @param code  the reply code, 400 to 599
     */
    void rejected(String stage, int code);
}
