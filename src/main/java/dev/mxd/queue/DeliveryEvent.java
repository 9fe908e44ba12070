package dev.mxd.queue;

import dev.mxd.smtp.LogText;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The outcome of one delivery attempt for one recipient, as the queue manager decides it: what
 * the log line says, what the metrics count and what the status page lists. One record, so the
 * three can never disagree.
 *
 * @param queueId   the message's queue id
 * @param recipient the recipient address
 * @param destination where the recipient went: local mailboxes or a domain by MX (its {@link #transport()} label)
 * @param relay     Postfix's relay field: {@code host[address]:port}, {@code local}, or {@code none}
 * @param outcome   sent, deferred or bounced
 * @param dsn       the RFC 3463 enhanced status of the attempt
 * @param detail    the reply or error, as the log and a bounce show it
 * @param arrival   when the message was accepted
 * @param at        when the attempt ended
 */
public record DeliveryEvent(String queueId, String recipient, Destination destination, String relay, Outcome outcome, String dsn,
                            String detail, Instant arrival, Instant at) {

    /** {@code local} (Maildir) or {@code smtp} (by MX): a bounded label for metrics and logs. */
    public String transport() {
        return destination.transport();
    }

    /** Postfix's status words. */
    public enum Outcome {
        SENT, DEFERRED, BOUNCED;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Outcome of(DeliveryState s) {
            return switch (s) {
                case DELIVERED -> SENT;
                case FAILED -> BOUNCED;
                default -> DEFERRED;
            };
        }
    }

    /** From arrival to the end of this attempt. */
    public Duration delay() {
        return Duration.between(arrival, at);
    }

    /**
     * The log line, in Postfix's form so that tools written for Postfix logs (pflogsumm, grep
     * habits) work: {@code ID: to=<b@example.test>, relay=mx[192.0.2.1]:25, delay=0.52, dsn=2.0.0, status=sent (250 2.0.0 Ok)}.
     */
    public String logLine() {
        return logLine(recipient, false);
    }

    /**
     * The line for one mailbox an alias led to, as Postfix's local writes it for each final recipient:
     * {@code ID: to=<bob@example.test>, orig_to=<info@example.test>, relay=local, …}, so a search for the mailbox's
     * address finds the delivery.
     */
    public String logLine(String finalRecipient) {
        return logLine(finalRecipient, true);
    }

    private String logLine(String to, boolean expanded) {
        // As Postfix: a sent line shows the reply alone (relay= names who gave it); a failure keeps "host … said: …".
        String why = outcome == Outcome.SENT && detail.contains(" said: ") ? detail.substring(detail.indexOf(" said: ") + 7) : detail;
        StringBuilder b = new StringBuilder(128).append(queueId).append(": to=<").append(LogText.safe(to));
        if (expanded) {
            b.append(">, orig_to=<").append(LogText.safe(recipient));
        }
        b.append(">, relay=").append(LogText.safe(relay)).append(", delay=");
        // Seconds with two decimals, half up, as %.2f would write them; one line per recipient, so no Formatter.
        long ms = delay().toMillis();
        if (ms < 0) {
            b.append('-');
            ms = -ms;
        }
        long centis = (ms + 5) / 10;
        b.append(centis / 100).append('.').append(centis % 100 < 10 ? "0" : "").append(centis % 100);
        return b.append(", dsn=").append(dsn).append(", status=").append(outcome.word()).append(" (").append(LogText.safe(why))
                .append(')').toString();
    }
}
