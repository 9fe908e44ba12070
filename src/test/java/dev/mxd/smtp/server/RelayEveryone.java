package dev.mxd.smtp.server;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import java.util.Optional;

/** A recipient policy for server tests: every recipient is relayed to its domain. */
final class RelayEveryone implements RecipientPolicy {

    @Override
    public RcptDecision decide(Mailbox recipient, ClientInfo client) {
        return new RcptDecision.Accept(new Route.Relay(recipient.domain()));
    }

    @Override
    public Optional<Mailbox> postmaster() {
        return Optional.empty();
    }
}
