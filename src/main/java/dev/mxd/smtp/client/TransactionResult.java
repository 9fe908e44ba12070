package dev.mxd.smtp.client;

import java.util.List;
import java.util.Map;

/** The end of one {@link SmtpConnection#send(OutboundEnvelope)}. */
public sealed interface TransactionResult {

    /**
     * Every recipient has an outcome, in the envelope's order.
     *
     * @param recipients one outcome per recipient
     */
    record Completed(List<RecipientOutcome> recipients) implements TransactionResult {
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
     * STARTTLS trouble): nothing was delivered here, and the caller tries the next address. The
     * connection is closed.
     *
     * @param failure what broke
     * @param settled recipients already failed for good before any command was sent, by index in
     *                the envelope: those whose address has no ASCII form, left out because this
     *                server does not offer SMTPUTF8 (5.6.7, RFC 6531 §3.2). If no other address
     *                takes the message, these fail rather than wait for a retry. Every other
     *                recipient is still to do.
     */
    record Failed(SessionFailure failure, Map<Integer, RecipientOutcome.Failed> settled) implements TransactionResult {
        public Failed {
            settled = Map.copyOf(settled);
        }

        public Failed(SessionFailure failure) {
            this(failure, Map.of());
        }
    }
}
