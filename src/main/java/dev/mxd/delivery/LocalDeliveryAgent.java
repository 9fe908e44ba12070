package dev.mxd.delivery;

import dev.mxd.queue.DeliveryAgent;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.server.Route;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Final delivery to local Maildirs (Postfix's local agent). The spooled text is streamed
 * into each mailbox, never read into memory; a mailbox reached by several recipients of one
 * message (an alias and its member, two aliases) gets one copy, as Postfix's duplicate
 * filter does. A failed write defers that recipient; it is retried like any deferred mail.
 */
public final class LocalDeliveryAgent implements DeliveryAgent {

    private static final Logger LOG = LoggerFactory.getLogger(LocalDeliveryAgent.class);

    private final Maildir maildir;
    private final Clock clock;

    public LocalDeliveryAgent(Maildir maildir, Clock clock) {
        this.maildir = maildir;
        this.clock = clock;
    }

    @Override
    public List<RecipientStatus> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        List<RecipientStatus> out = new ArrayList<>();
        Set<String> delivered = mailboxesDelivered(envelope);
        for (RecipientStatus r : recipients) {
            if (!(r.recipient().route() instanceof Route.Local local)) {
                throw new IllegalArgumentException(r.recipient().address() + " is not a local recipient");
            }
            try {
                for (String box : local.mailboxes()) {
                    if (delivered.add(local.domain() + "/" + box)) {
                        Path file = maildir.deliver(local.domain(), box, deliveryHeaders(envelope, r.recipient().address()), text, envelope.size());
                        LOG.debug("{}: <{}> written to {}", envelope.id(), r.recipient().address(), file);
                    }
                }
                out.add(r.with(DeliveryState.DELIVERED, "delivered to maildir", clock.instant(), "2.0.0", Optional.empty()));
            } catch (IOException ex) {
                out.add(r.with(DeliveryState.DEFERRED, "maildir delivery failed: " + ex.getMessage(), clock.instant(),
                        "4.3.0", Optional.empty()));
            }
        }
        return out;
    }

    /**
     * The mailboxes that already hold this message: those of recipients delivered in an earlier
     * attempt. A message gets one copy per mailbox however many of its recipients lead there
     * (an alias and the mailbox itself, two aliases, the same RCPT twice), as Postfix's local
     * delivery suppresses duplicates; the copy carries the Delivered-To of the first such recipient.
     */
    private static Set<String> mailboxesDelivered(Envelope e) {
        Set<String> filled = new HashSet<>();
        for (RecipientStatus r : e.recipients()) {
            if (r.state() == DeliveryState.DELIVERED && r.recipient().route() instanceof Route.Local local) {
                local.mailboxes().forEach(box -> filled.add(local.domain() + "/" + box));
            }
        }
        return filled;
    }

    /** RFC 5321 §4.4: the final delivery adds Return-Path; Delivered-To names the recipient, as Postfix's local does. */
    private static byte[] deliveryHeaders(Envelope e, Mailbox recipient) {
        String h = "Return-Path: <" + e.sender().map(Mailbox::toString).orElse("") + ">\r\n"
                + "Delivered-To: " + recipient + "\r\n";
        return h.getBytes(StandardCharsets.UTF_8);
    }
}
