package dev.mxd.delivery;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a delivery status notification says (RFC 3464 §2): per message, who reports and
 * when the message arrived; per recipient, what happened to it.
 *
 * @param reportingMta     this MTA's host name (Reporting-MTA)
 * @param queueId          our queue id, for the operator (X-Mxd-Queue-ID)
 * @param envelopeId       ENVID from the original MAIL command (RFC 3461 §4.4), if any
 * @param sender           the original envelope sender: the notification goes to it
 * @param arrival          when we accepted the message (Arrival-Date)
 * @param recipients       one entry per recipient being reported
 * @param returnFull       RET=FULL (the whole message comes back) or RET=HDRS (headers only)
 * @param original         the original message as it was spooled
 */
public record DsnReport(String reportingMta, String queueId, Optional<String> envelopeId, String sender, Instant arrival,
                        List<Recipient> recipients, boolean returnFull, byte[] original) {

    public DsnReport {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a delivery status notification reports at least one recipient");
        }
        if (sender.isEmpty()) {
            throw new IllegalArgumentException("never bounce a bounce: the original sender is the null path");
        }
    }

    /** RFC 3464 §2.3.3 Action values mxd reports. */
    public enum Action {
        FAILED("failed"), DELAYED("delayed"), DELIVERED("delivered"), RELAYED("relayed");

        private final String field;

        Action(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /**
     * One recipient's fate.
     *
     * @param finalRecipient    the address we tried (Final-Recipient: rfc822;…)
     * @param originalRecipient ORCPT as given by the client, "type;address" (RFC 3461 §4.2), if any
     * @param action            failed, delayed, delivered or relayed
     * @param status            RFC 3463 enhanced status code, e.g. 5.1.1
     * @param remoteMta         the MX host that answered, if one did
     * @param diagnostic        the remote reply ("550 5.1.1 no such user"), if any
     * @param lastAttempt       when we last tried
     */
    public record Recipient(String finalRecipient, Optional<String> originalRecipient, Action action, String status,
                            Optional<String> remoteMta, Optional<String> diagnostic, Instant lastAttempt) {}
}
