package dev.mxd.mail;

import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.SmtpReply;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Asks a better MX of a backup domain whether a recipient exists there (a callout), so that the
 * backup refuses at RCPT what the primary would refuse later. Built where DNS and the SMTP client
 * may be used, and handed to the recipient policy.
 */
public interface RecipientVerifier {

    /** The primary's answer about one recipient, or why there is none. */
    sealed interface Verdict {

        /** The primary accepted the recipient (250 or 251 to RCPT). */
        record Exists() implements Verdict {}

        /** The primary refused the recipient for good; {@code reply} is its 5xx reply to RCPT. */
        record Refused(SmtpReply reply) implements Verdict {}

        /**
         * No better MX exists to ask, for good: the domain's MX plan is a permanent failure (it loops back to this host,
         * has a null MX, does not exist), so delivery would bounce whatever the address. Not kept: DNS decides each time.
         */
        record Undeliverable(String reason, dev.mxd.smtp.EnhancedStatus status) implements Verdict {}

        /** Nobody could tell now: a 4xx reply, no better MX reachable, a timeout. {@code reason} is for the log and the reply. */
        record Unknown(String reason) implements Verdict {}
    }

    /**
     * Verifies {@code recipient} of {@code domain}: from the cache when an answer is there, else by a
     * probe; an answer is kept {@code positiveExpire} (exists) or {@code negativeExpire} (refused).
     * Never completes exceptionally.
     */
    CompletionStage<Verdict> verify(Mailbox recipient, String domain, Duration positiveExpire, Duration negativeExpire);

    /** For a node without callouts: nobody can tell. */
    RecipientVerifier UNAVAILABLE = (recipient, domain, positive, negative) ->
            CompletableFuture.completedFuture(new Verdict.Unknown("recipient verification is not available"));
}
