package dev.mxd.filter;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * The SMTP envelope of the message being scanned: Rspamd scores with it (its From, Rcpt, IP, Helo
 * headers), spamd does not use it, and the quarantine keeps it for release.
 *
 * @param queueId     mxd's id for the message, in every log line about it
 * @param sender      the MAIL FROM reverse-path without angle brackets; empty for the null sender
 * @param recipients  the accepted RCPT TO forward-paths, in order
 * @param client      the SMTP client's address
 * @param helo        the name the client gave in EHLO or HELO
 * @param hostname    the client's verified reverse DNS name, when there is one
 */
public record ScanEnvelope(String queueId, String sender, List<String> recipients, Optional<InetAddress> client,
                           Optional<String> helo, Optional<String> hostname) {

    public ScanEnvelope {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a message to scan has at least one recipient (queue id " + queueId + ")");
        }
    }

    /** An envelope with only what every message has; client details unknown. */
    public static ScanEnvelope of(String queueId, String sender, List<String> recipients) {
        return new ScanEnvelope(queueId, sender, recipients, Optional.empty(), Optional.empty(), Optional.empty());
    }
}
