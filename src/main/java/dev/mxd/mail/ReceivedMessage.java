package dev.mxd.mail;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One whole message in memory, envelope and unstuffed text: for messages mxd makes itself
 * (bounces) and tests. The SMTP server never builds one; it streams text through
 * {@link MessageStore#begin}.
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

    public Transaction transaction() {
        return new Transaction(sender, parameters, recipients, client);
    }
}
