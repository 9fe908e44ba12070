package dev.mxd.delivery;

import dev.mxd.mail.HeaderFields;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.LogText;
import dev.mxd.queue.DeliveryAgent;
import dev.mxd.queue.DurableFiles;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.Route;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Final delivery to local Maildirs (Postfix's local agent). The spooled text is streamed
 * into each mailbox, never read into memory; a mailbox reached by several recipients of one
 * message (an alias and its member, two aliases) gets one copy, as Postfix's duplicate
 * filter does. A mailbox counts as holding the copy only once its write succeeded; a recipient is
 * delivered when every mailbox it leads to holds one (written now or in an earlier attempt), else
 * deferred, with its route narrowed to the mailboxes still missing, and retried like any
 * deferred mail. A recipient leading to a mailbox whose write failed in this attempt is deferred
 * too, without a second try now (4.2.2 when over the disk quota). A recipient whose every missing
 * mailbox refused the message's size (EFBIG) fails (5.3.4).
 */
public final class LocalDeliveryAgent implements DeliveryAgent {

    private static final Logger LOG = LoggerFactory.getLogger(LocalDeliveryAgent.class);

    private final MailboxWriter maildir;
    private final BiPredicate<String, String> configured;

    /** Every mailbox a queued recipient leads to still exists (a test's agent). */
    public LocalDeliveryAgent(Maildir maildir) {
        this(maildir, (domain, box) -> true);
    }

    /**
     * @param configured whether the configuration in force still has a mailbox ({@code domain}, {@code box}): a
     *                   queued copy for one a reload removed is not written (its directory made anew), as Postfix's
     *                   virtual delivery bounces a user no longer in its maps
     */
    public LocalDeliveryAgent(Maildir maildir, BiPredicate<String, String> configured) {
        this(maildir::deliver, configured);
    }

    LocalDeliveryAgent(MailboxWriter maildir) {
        this(maildir, (domain, box) -> true);
    }

    LocalDeliveryAgent(MailboxWriter maildir, BiPredicate<String, String> configured) {
        this.maildir = maildir;
        this.configured = configured;
    }

    /** Writes one copy into a mailbox ({@link Maildir#deliver(String, String, byte[], Path, long)}); a test's own where it fails on purpose. */
    @FunctionalInterface
    interface MailboxWriter {
        Path deliver(String domain, String mailbox, byte[] headers, Path text, long length) throws IOException;
    }

    @Override
    public List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        List<DeliveryResult> out = new ArrayList<>();
        Set<String> filled = mailboxesDelivered(envelope);
        // Mailboxes whose write failed in this attempt: every recipient leading there waits for the retry (or fails).
        Map<String, Problem> failed = new HashMap<>();
        Set<String> deliveredTo = null; // the text's Delivered-To addresses, read when first needed
        for (RecipientStatus r : recipients) {
            if (!(r.recipient().route() instanceof Route.Local local)) {
                throw new IllegalArgumentException(r.recipient().address() + " is not a local recipient");
            }
            if (deliveredTo == null) {
                deliveredTo = deliveredTo(envelope, text);
            }
            if (deliveredTo.contains(loopKey(r.recipient().address()))) {
                // It was delivered here before and came back (a forwarder elsewhere, a redirect): Postfix's local bounces
                // it as a loop, where each pass would add a copy until the hop limit.
                out.add(DeliveryResult.Failed.of(EnhancedStatus.ROUTING_LOOP, "mail forwarding loop for " + r.recipient().address()));
                continue;
            }
            List<String> missing = new ArrayList<>();
            List<String> gone = new ArrayList<>(); // mailboxes a reload removed since the recipient was accepted
            List<String> holding = new ArrayList<>(); // the route's mailboxes that hold the copy, written now or before
            List<String> problems = new ArrayList<>();
            // mailboxes of an alias (or the catch-all) whose own address is in a Delivered-To field: the text was put in
            // them here before and came back; another copy is not written, as Postfix checks at each expansion
            List<String> looped = new ArrayList<>();
            boolean allTooBig = true; // every mailbox still missing refused the message's size (EFBIG)
            boolean quota = false; // one of them is over the disk quota (EDQUOT)
            for (String box : local.mailboxes()) {
                String key = local.domain() + "/" + box;
                if (filled.contains(key)) {
                    holding.add(box);
                    continue;
                }
                if (!configured.test(local.domain(), box)) {
                    gone.add(box);
                    continue;
                }
                if (!reachedDirectly(box, r.recipient().address()) && deliveredTo.contains(loopKey(box + "@" + local.domain()))) {
                    looped.add(box);
                    continue;
                }
                Problem p = failed.get(key);
                if (p == null) {
                    try {
                        Path file = maildir.deliver(local.domain(), box, deliveryHeaders(envelope, r.recipient().address()), text, envelope.size());
                        filled.add(key); // only once the copy is on disk
                        holding.add(box);
                        LOG.debug("{}: <{}> written to {}", envelope.id(), LogText.safe(r.recipient().address()), file);
                        continue;
                    } catch (IOException | RuntimeException | Error ex) {
                        // any failure is this mailbox's: the copies already written stay counted (an Error
                        // thrown out of here lost them all, and every mailbox got a second copy at the retry)
                        p = new Problem(ex instanceof IOException io ? DurableFiles.describe(io) : ex.toString(),
                                DurableFiles.systemSays(ex, "File too large"), DurableFiles.systemSays(ex, "Disk quota exceeded"));
                        failed.put(key, p);
                        if (!(ex instanceof IOException)) {
                            LOG.error("{}: writing to the mailbox {}/{} failed", envelope.id(), local.domain(), box, ex);
                        }
                    }
                }
                missing.add(box);
                problems.add(box + ": " + p.text());
                allTooBig &= p.tooBig();
                quota |= p.quota();
            }
            if (!gone.isEmpty()) {
                LOG.warn("{}: <{}>: no copy for {} of {}: no such mailbox here (the configuration changed since the message came)",
                        envelope.id(), LogText.safe(r.recipient().address()), gone, local.domain());
            }
            if (!looped.isEmpty()) {
                LOG.warn("{}: <{}>: no copy for {} of {}: mail forwarding loop (a Delivered-To field names it)", envelope.id(),
                        LogText.safe(r.recipient().address()), looped, local.domain());
            }
            if (missing.isEmpty() && holding.isEmpty() && !looped.isEmpty()) {
                out.add(DeliveryResult.Failed.of(EnhancedStatus.ROUTING_LOOP, "mail forwarding loop for " + addresses(looped, local)));
            } else if (missing.isEmpty() && holding.isEmpty() && !gone.isEmpty()) {
                out.add(DeliveryResult.Failed.of(EnhancedStatus.BAD_MAILBOX, "no such mailbox here (the configuration changed since the message came): " + addresses(gone, local)));
            } else if (missing.isEmpty()) {
                out.add(new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty()));
            } else if (allTooBig) {
                // larger than a file may be here (the file size limit): no retry will fit it, so the sender is told now, and
                // told of the alias's mailboxes that did take it (the notice said the message was not delivered at all)
                out.add(DeliveryResult.Failed.of(EnhancedStatus.TOO_BIG, "message too big for the mailbox: " + String.join("; ", problems)
                        + (holding.isEmpty() ? "" : "; a copy was delivered to " + addresses(holding, local))));
            } else {
                // Only the mailboxes still without a copy stay on the recipient's route, so the retry
                // writes to those and the mailboxes already served get no second copy.
                // Over the disk quota: every mailbox is written as one user (delivery.maildir-owner or mxd's own), so the
                // quota is the host's, as a full disk is, and retried (4.2.2), never bounced for one mailbox.
                out.add(new DeliveryResult.Deferred(quota ? EnhancedStatus.MAILBOX_FULL : EnhancedStatus.LOCAL_ERROR,
                        "maildir delivery failed: " + String.join("; ", problems),
                        Optional.empty(), Optional.empty(), false, Optional.of(new Route.Local(local.domain(), missing))));
            }
        }
        return out;
    }

    /**
     * Whether {@code box} is the recipient's own mailbox, by its local part or its base before an address extension
     * (alice+archive@ reaches alice): only a mailbox an alias or the catch-all leads to is checked on its own, as
     * Postfix's loop check takes the address as sent, so mail alice redirects to alice+archive@ is delivered.
     */
    private static boolean reachedDirectly(String box, Mailbox recipient) {
        String local = recipient.localKey();
        String name = box.toLowerCase(Locale.ROOT);
        return local.equals(name) || local.startsWith(name) && local.length() > name.length()
                && Mailbox.ATEXT_SYMBOLS.indexOf(local.charAt(name.length())) >= 0;
    }

    /** Mailboxes of {@code route}'s domain as addresses, for a reason: "alice@example.test, bob@example.test". */
    private static String addresses(List<String> boxes, Route.Local route) {
        return String.join(", ", boxes.stream().map(b -> b + "@" + route.domain()).toList());
    }

    /**
     * The addresses of the text's {@code Delivered-To} fields, lower case: the final deliveries it has
     * been through, as this agent and Postfix's local add them. A text that cannot be read has none
     * here (its delivery fails on it anyway).
     */
    private static Set<String> deliveredTo(Envelope envelope, Path text) {
        Set<String> found = new HashSet<>();
        try {
            HeaderFields.any(text, field -> {
                // the field is read octet by octet; this agent wrote it in UTF-8 (an SMTPUTF8 recipient's address)
                HeaderFields.value(field, "Delivered-To").ifPresent(v -> found.add(loopKey(unbracketed(
                        new String(v.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8)))));
                return false;
            });
        } catch (IOException e) {
            LOG.warn("{}: cannot read the header for Delivered-To fields: {}", envelope.id(), e.toString());
        }
        return found;
    }

    /**
     * An address as the loop check compares it: the local part in lower case, the domain as its lookup key
     * (lower-case A-labels), so that a copy that comes back with its domain in the other IDNA form still matches.
     */
    private static String loopKey(Mailbox address) {
        return address.localKey() + "@" + address.domainKey();
    }

    private static String loopKey(String address) {
        try {
            return loopKey(Mailbox.parse(address));
        } catch (IllegalArgumentException notAnAddress) {
            return address.toLowerCase(Locale.ROOT);
        }
    }

    private static String unbracketed(String address) {
        return address.startsWith("<") && address.endsWith(">") ? address.substring(1, address.length() - 1).strip() : address;
    }

    /** Why a mailbox's write failed; whether the message is larger than a file may be there (EFBIG); whether over the disk quota (EDQUOT). */
    private record Problem(String text, boolean tooBig, boolean quota) {}

    /**
     * The mailboxes that already hold this message: those of recipients delivered in an earlier
     * attempt. A message gets one copy per mailbox however many of its recipients lead there
     * (an alias and the mailbox itself, two aliases, the same RCPT twice), as Postfix's local
     * delivery suppresses duplicates; the copy carries the Delivered-To of the first such recipient.
     * A mailbox filled by a recipient that is still deferred is not among them, and needs not be:
     * that recipient's route no longer names it, and every other recipient leading there was in
     * the same attempt (all of a message's local recipients are) and is delivered.
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
