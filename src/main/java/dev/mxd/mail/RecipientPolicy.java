package dev.mxd.mail;

import dev.mxd.smtp.Mailbox;
import java.util.Optional;

/**
 * Decides at RCPT time whether mxd takes responsibility for a recipient. Deciding here, and
 * not after DATA, is what keeps mxd from accepting mail it would have to bounce later
 * (backscatter) and from being an open relay.
 */
public interface RecipientPolicy {

    RcptDecision decide(Mailbox recipient, ClientInfo client);

    /**
     * The address {@code RCPT TO:<Postmaster>} (no domain) stands for (RFC 5321 §4.5.1); it is
     * then decided like any other recipient. Empty when this MX delivers no mail locally.
     */
    Optional<Mailbox> postmaster();
}
