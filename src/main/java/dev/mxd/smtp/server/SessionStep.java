package dev.mxd.smtp.server;

import dev.mxd.smtp.ServerReply;

/** What the connection must do after the session handled one input. */
sealed interface SessionStep {

    /** Send the reply; close the connection afterwards when {@code close}. */
    record Reply(ServerReply reply, boolean close) implements SessionStep {}

    /** Send 354 and read message text until CRLF.CRLF. */
    record BeginData(ServerReply reply) implements SessionStep {}

    /** Send 220, discard anything buffered in plaintext, and start the TLS handshake (RFC 3207 §4). */
    record BeginTls(ServerReply reply) implements SessionStep {}

    /** Store the message off the event loop, then give the session the outcome. */
    record Store(ReceivedMessage message) implements SessionStep {}
}
