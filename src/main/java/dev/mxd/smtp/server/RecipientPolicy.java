package dev.mxd.smtp.server;

import dev.mxd.smtp.Mailbox;

/**
 * Decides at RCPT time whether mxd takes responsibility for a recipient. Deciding here, and
 * not after DATA, is what keeps mxd from accepting mail it would have to bounce later
 * (backscatter) and from being an open relay.
 */
@FunctionalInterface
public interface RecipientPolicy {

    RcptDecision decide(Mailbox recipient, ClientInfo client);
}
