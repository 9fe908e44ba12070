package dev.mxd.smtp.client;

import java.util.List;

/** The end of one {@link SmtpConnection#send(Envelope)}. */
public sealed interface TransactionResult {

    /**
     * Every recipient has an outcome, in the envelope's order.
     *
     * @param recipients         one outcome per recipient
     * @param eightBitUnannounced 8-bit content went to a server that does not announce 8BITMIME, as
     *                           Postfix does by default (RFC 6152 §3 asks to convert instead; nearly
     *                           every server takes it)
     */
    record Completed(List<RecipientOutcome> recipients, boolean eightBitUnannounced) implements TransactionResult {
        public Completed {
            recipients = List.copyOf(recipients);
        }

        public List<RecipientOutcome.Accepted> accepted() {
            return recipients.stream().filter(RecipientOutcome.Accepted.class::isInstance)
                    .map(RecipientOutcome.Accepted.class::cast).toList();
        }
    }

    /**
     * The session broke before the content went out (lost connection, timeout, garbled reply, or
     * STARTTLS trouble): nothing was delivered here, every recipient is still to do, and the
     * caller tries the next address. The connection is closed.
     */
    record Failed(SessionFailure failure) implements TransactionResult {}
}
