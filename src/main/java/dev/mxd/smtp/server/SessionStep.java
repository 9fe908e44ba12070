package dev.mxd.smtp.server;

import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Transaction;
import dev.mxd.smtp.SmtpReply;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

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

    /**
     * The recipient policy decides this RCPT later (it asks another server): read no further
     * command until {@code decision} completes, then give it to {@code then} on the event loop
     * and perform the step that returns (the RCPT's reply), so pipelined replies stay in order.
     */
    record AwaitRcpt(CompletionStage<RcptDecision> decision, Function<RcptDecision, SessionStep> then) implements SessionStep {}
}
