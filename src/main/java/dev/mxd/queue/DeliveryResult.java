package dev.mxd.queue;

import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import java.time.Instant;
import java.util.Optional;

/**
 * What a delivery agent reports for one recipient after an attempt: delivered, deferred or
 * failed. The queue manager turns it into the recipient's next {@link RecipientStatus}.
 */
public sealed interface DeliveryResult {

    /** The RFC 3463 status of the attempt, for the log and a DSN's Status field. */
    EnhancedStatus status();

    /** The reply or error, as the log and a notice show it. */
    String detail();

    /** The host that answered ({@code host[address]:port}), when a remote server did. */
    Optional<String> remoteMta();

    /** The server's reply the result rests on; empty when mxd decided it itself (DNS, Maildir, no answer). */
    Optional<SmtpReply> reply();

    /** The next hop or the mailbox has the message: done. */
    record Delivered(EnhancedStatus status, String detail, Optional<String> remoteMta, Optional<SmtpReply> reply,
                     boolean relayedWithoutDsn) implements DeliveryResult {

        /** Delivered by a final hop, or relayed to a server that takes the DSN requests on. */
        public Delivered(EnhancedStatus status, String detail, Optional<String> remoteMta, Optional<SmtpReply> reply) {
            this(status, detail, remoteMta, reply, false);
        }
    }

    /**
     * Not delivered now; tried again later. {@code maybeDelivered}: the message went out with its
     * final dot but no reply came, so the next hop may already have it (a retry may duplicate it).
     * {@code retryRoute}: the route the retry takes when it differs from the recipient's (the local
     * agent keeps only the mailboxes still without a copy), else empty. {@code retryBy}: when what
     * deferred it is known to lift (another delivery's probe of the MX host will have told whether it
     * is back): the queue tries the message again by then, whatever its age says, so that a primary
     * back after an outage gets the backup's mail within a minute rather than an hour.
     */
    record Deferred(EnhancedStatus status, String detail, Optional<String> remoteMta, Optional<SmtpReply> reply,
                    boolean maybeDelivered, Optional<Route> retryRoute, Optional<Instant> retryBy) implements DeliveryResult {

        public Deferred(EnhancedStatus status, String detail, Optional<String> remoteMta, Optional<SmtpReply> reply,
                        boolean maybeDelivered, Optional<Route> retryRoute) {
            this(status, detail, remoteMta, reply, maybeDelivered, retryRoute, Optional.empty());
        }

        /** A deferral mxd decided, with no server reply and nothing sent. */
        public static Deferred of(EnhancedStatus status, String detail) {
            return new Deferred(status, detail, Optional.empty(), Optional.empty(), false, Optional.empty());
        }
    }

    /** Permanently undeliverable: a bounce is due. */
    record Failed(EnhancedStatus status, String detail, Optional<String> remoteMta, Optional<SmtpReply> reply)
            implements DeliveryResult {

        /** A failure mxd decided, with no server reply. */
        public static Failed of(EnhancedStatus status, String detail) {
            return new Failed(status, detail, Optional.empty(), Optional.empty());
        }
    }
}
