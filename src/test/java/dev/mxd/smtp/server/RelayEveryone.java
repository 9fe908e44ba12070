package dev.mxd.smtp.server;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import java.util.Optional;
import java.util.function.Consumer;

/** A recipient policy for server tests: every recipient is relayed to its domain; each decision's client is told to {@code seen}. */
record RelayEveryone(Consumer<ClientInfo> seen) implements RecipientPolicy {

    RelayEveryone() {
        this(client -> { });
    }

    @Override
    public RcptDecision decide(Mailbox recipient, ClientInfo client) {
        seen.accept(client);
        return new RcptDecision.Accept(new Route.Relay(recipient.domain()));
    }

    @Override
    public Optional<Mailbox> postmaster() {
        return Optional.empty();
    }
}
