package dev.mxd.smtp.server;

import dev.mxd.mail.Transaction;
import dev.mxd.smtp.SmtpReply;

/** What the connection must do after the session handled one input. */
sealed interface SessionStep {

    /** Send the reply; close the connection afterwards when {@code close}. */
    record Reply(SmtpReply reply, boolean close) implements SessionStep {}

    /** Send 354 and stream the message text of {@code transaction} into the store until CRLF.CRLF. */
    record BeginData(SmtpReply reply, Transaction transaction) implements SessionStep {}

    /** Send 220, discard anything buffered in plaintext, and start the TLS handshake (RFC 3207 §4). */
    record BeginTls(SmtpReply reply) implements SessionStep {}

    /** Commit the message ({@code size} octets of text) off the event loop, then give the session the outcome. */
    record Store(Transaction transaction, long size) implements SessionStep {}
}
