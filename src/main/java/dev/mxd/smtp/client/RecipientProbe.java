package dev.mxd.smtp.client;

import dev.mxd.smtp.SmtpReply;

/** What a server said about one recipient when asked without a message ({@link SmtpConnection#probeRecipient}). */
public sealed interface RecipientProbe {

    /** The server answered RCPT TO: {@code reply} says whether it takes the recipient. */
    record Answered(SmtpReply reply) implements RecipientProbe {}

    /** No answer about the recipient: MAIL refused, the connection lost, a timeout. The connection is closed. */
    record Unanswered(String reason) implements RecipientProbe {}
}
