package dev.mxd.mail;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import java.util.List;
import java.util.Optional;

/**
 * A mail transaction as it stands when DATA is accepted (RFC 5321 §3.3): everything about the
 * message except its text, which then streams into the {@link MessageStore}.
 *
 * @param sender     the reverse-path; empty for the null sender (bounces)
 * @param parameters MAIL FROM parameters (BODY, SMTPUTF8, RET, ENVID)
 * @param recipients accepted recipients, in RCPT order
 * @param client     who sends it
 */
public record Transaction(Optional<Mailbox> sender, MailParameters parameters, List<Recipient> recipients, ClientInfo client) {

    public Transaction {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
    }
}
