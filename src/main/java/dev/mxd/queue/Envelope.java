package dev.mxd.queue;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.ClientInfo;
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
 * @param kind       mail from a client, or a notice mxd made itself (what its own failure leads to)
 */
public record Envelope(String id, Optional<Mailbox> sender, MailParameters parameters, List<RecipientStatus> recipients,
                       ClientInfo client, Instant arrival, long size, Kind kind) {

    /**
     * What a spooled message is, kept in its envelope so that a notice's failure is never
     * guessed from its headers: mail's failure is reported to its sender, a sender notice's to
     * the postmaster (Postfix's double bounce), a postmaster notice's to nobody (no loop).
     */
    public enum Kind {
        /** Mail received from a client. */
        MAIL,
        /** A delivery status notice mxd sent to a message's sender. */
        SENDER_NOTICE,
        /** A notice mxd sent to the postmaster: the last of the chain, never reported on. */
        POSTMASTER_NOTICE
    }

    public Envelope {
        recipients = List.copyOf(recipients);
    }

    /** Mail received from a client. */
    public Envelope(String id, Optional<Mailbox> sender, MailParameters parameters, List<RecipientStatus> recipients,
                    ClientInfo client, Instant arrival, long size) {
        this(id, sender, parameters, recipients, client, arrival, size, Kind.MAIL);
    }

    public Envelope withRecipients(List<RecipientStatus> updated) {
        return new Envelope(id, sender, parameters, updated, client, arrival, size, kind);
    }

    /** Whether every recipient is delivered or failed, so the message can leave the spool. */
    public boolean done() {
        return recipients.stream().allMatch(r -> r.state().done());
    }
}
