package dev.mxd.smtp.client;

/** The end of {@link SmtpConnection#open}: a session ready for mail, or why there is none. */
public sealed interface OpenResult {

    /** Greeted, EHLO (or HELO) accepted, TLS as the policy asked: ready for {@link SmtpConnection#send}. */
    record Ready(SmtpConnection connection) implements OpenResult {}

    /** The caller tries the next address, or this one without TLS if {@link SessionFailure#tlsFailed()}. */
    record Failed(SessionFailure failure) implements OpenResult {}
}
