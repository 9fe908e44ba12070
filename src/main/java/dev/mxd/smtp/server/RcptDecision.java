package dev.mxd.smtp.server;

import dev.mxd.smtp.ServerReply;

/** The answer to one RCPT TO: accept with a route, or refuse with a reply. */
public sealed interface RcptDecision {

    record Accept(Route route) implements RcptDecision {}

    record Refuse(ServerReply reply) implements RcptDecision {}
}
