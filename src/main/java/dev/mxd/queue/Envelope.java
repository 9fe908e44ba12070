package dev.mxd.queue;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.server.ClientInfo;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Everything about a spooled message except its text: what a delivery agent and a later
 * bounce need (RFC 3461 RET/ENVID/NOTIFY/ORCPT, arrival date, client), with per-recipient state.
 *
 * @param id         the queue id
 * @param sender     the reverse-path; empty for the null sender
 * @param parameters BODY, SMTPUTF8, RET, ENVID
 * @param recipients each recipient and its delivery state
 * @param client     the client that sent the message
 * @param arrival    when mxd accepted it
 * @param size       octets of the spooled text (Received header included)
 */
public record Envelope(String id, Optional<Mailbox> sender, MailParameters parameters, List<RecipientStatus> recipients,
                       ClientInfo client, Instant arrival, long size) {

    public Envelope {
        recipients = List.copyOf(recipients);
    }

    public Envelope withRecipients(List<RecipientStatus> updated) {
        return new Envelope(id, sender, parameters, updated, client, arrival, size);
    }

    /** Whether every recipient is delivered or failed, so the message can leave the spool. */
    public boolean done() {
        return recipients.stream().allMatch(r -> r.state().done());
    }
}
