package dev.mxd.smtp.server;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One message as received, before it is stored: the envelope and the unstuffed text.
 *
 * @param sender     the reverse-path; empty for the null sender (bounces)
 * @param parameters MAIL FROM parameters (BODY, SMTPUTF8, RET, ENVID)
 * @param recipients accepted recipients, in RCPT order
 * @param client     who sent it
 * @param arrival    when the end of data arrived
 * @param content    the message text as the client sent it, without a Received header
 */
public record ReceivedMessage(Optional<Mailbox> sender, MailParameters parameters, List<Recipient> recipients,
                              ClientInfo client, Instant arrival, byte[] content) {

    public ReceivedMessage {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
    }
}
