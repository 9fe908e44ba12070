package dev.mxd.ops;

import dev.mxd.filter.MessageTagger;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Transaction;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releasing a quarantined message (issue 7): it goes into the spool as a new message from its
 * original sender to its original recipients, each routed by the domain policy as at RCPT time,
 * and past the filter (an operator decided). Crash-safe in the order {@link Quarantine} describes:
 * the entry moves to {@code released/}, the spool accepts the copy (fsynced), then the entry is
 * forgotten; a crash in between leaves it in {@code released/}, injected again by the next
 * {@code release} of that id or the next server start (a duplicate at worst, when the spool had
 * the copy already; never a loss). Every state a crash leaves between the steps is accepted
 * ({@link Quarantine#pending}), and none of them stops a server start.
 *
 * <p>Each release, from taking the entry to forgetting it, and the resumption at start, holds the
 * quarantine's lock ({@link Quarantine#lock}: threads of this process and other processes, such as
 * {@code mxd quarantine release --config} beside a running server). Without it, a release could
 * find in {@code released/} an entry another one had just taken and not yet forgotten, and both
 * would queue it.
 *
 * @param handOver how the queue manager learns of the new message: {@link HandOver#LISTENER} in
 *                 the server's own process, {@link HandOver#DEFERRED_NOW} from another process
 */
public record QuarantineRelease(Quarantine quarantine, Spool spool, RecipientPolicy policy, Clock clock, HandOver handOver) {

    private static final Logger LOG = LoggerFactory.getLogger(QuarantineRelease.class);

    /**
     * How old an unfinished quarantine file must be before start-up removes it: well past any
     * store of the running server, like maildir(5)'s 36 hours for {@code tmp/}.
     */
    static final Duration LEFTOVER_AGE = Duration.ofHours(36);

    /** The client a released message is recorded as coming from (its Received header, the policy's trust check). */
    public static final ClientInfo RELEASE_CLIENT = new ClientInfo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            "quarantine-release", true, false);

    /** How a message added to the spool reaches the queue manager. */
    public enum HandOver {
        /** Same process: the spool's accept listener offers it at once. */
        LISTENER,
        /**
         * Another process: filed in deferred/ due now, where the running server's queue manager finds
         * it at its next scan (delivery.scan-interval), or a starting server at once. A server's
         * listener never hears about another process's commit, and it does not scan incoming/.
         */
        DEFERRED_NOW
    }

    /** What a release did. */
    public sealed interface Outcome {
        /**
         * Queued for delivery as {@code queueId}; {@code refused} lists recipients the policy no longer
         * accepts, which stay in the quarantine as the entry {@code kept} (never dropped).
         */
        record Queued(QuarantineEntry entry, String queueId, List<String> refused, Optional<QuarantineEntry> kept)
                implements Outcome {}

        /** No entry with that id, in the quarantine or half-released. */
        record NotFound() implements Outcome {}

        /**
         * Every recipient is refused by the current configuration; the entry stays in the quarantine
         * ({@code entry}: for a release a crash had cut short, put back under a new id).
         */
        record NoRecipients(QuarantineEntry entry, List<String> refused) implements Outcome {}

        /**
         * Moved to {@code released/} with no configuration to route it by ({@link QuarantineOperations#onDataDir}):
         * the next server start injects {@code messageFile}. A {@link QuarantineRelease} itself never parks.
         */
        record Parked(QuarantineEntry entry, Path messageFile) implements Outcome {}
    }

    /** Releases one entry, or finishes its release if a crash interrupted one. */
    public Outcome release(String id) throws IOException {
        try (Quarantine.Lock held = quarantine.lock()) {
            return releaseLocked(id);
        }
    }

    private Outcome releaseLocked(String id) throws IOException {
        Optional<Quarantine.Released> pending = pending().stream().filter(r -> r.entry().id().equals(id)).findFirst();
        if (pending.isPresent()) {
            return inject(pending.get());
        }
        Optional<QuarantineEntry> entry = quarantine.find(id);
        if (entry.isEmpty()) {
            return new Outcome.NotFound();
        }
        Routed routed = route(entry.get());
        if (routed.recipients().isEmpty()) {
            return new Outcome.NoRecipients(entry.get(), routed.refused());
        }
        Optional<Quarantine.Released> released = quarantine.release(id);
        if (released.isEmpty()) {
            return new Outcome.NotFound(); // released or deleted by someone else just now
        }
        return inject(released.get());
    }

    /**
     * Injects every release a crash left half done, or one made with {@code --data-dir} while mxd
     * was down (server start), and removes a crash's leftovers that are no entry. Nothing here
     * stops a start: an entry the spool does not take now goes back into the quarantine (logged),
     * to be released again; one that cannot even be put back stays in {@code released/} for the
     * next start or the next {@code release} of its id.
     */
    public void resumePending() {
        if (!Files.isDirectory(quarantine.directory())) {
            return; // nothing was ever quarantined
        }
        try (Quarantine.Lock held = quarantine.lock()) {
            resumePendingLocked();
        } catch (IOException | RuntimeException e) {
            LOG.error("quarantine {}: cannot resume releases ({}); they stay in released/ until the next start",
                    quarantine.directory(), e.toString());
        }
    }

    private void resumePendingLocked() {
        List<Quarantine.Released> pending;
        try {
            pending = pending();
        } catch (IOException | RuntimeException e) {
            LOG.error("quarantine {}: cannot look for releases to resume ({}); they stay in released/ until the next start",
                    quarantine.directory(), e.toString());
            return;
        }
        for (Quarantine.Released r : pending) {
            try {
                Outcome o = inject(r);
                LOG.info("quarantine release {} resumed after a restart: {}", r.entry().id(), o);
            } catch (IOException | RuntimeException e) {
                LOG.error("quarantine release {} not resumed: {}", r.entry().id(), e.getMessage());
            }
        }
        try {
            int removed = quarantine.removeLeftovers(clock.instant().minus(LEFTOVER_AGE));
            if (removed > 0) {
                LOG.info("quarantine {}: removed {} file(s) a crash left unfinished (no entry)", quarantine.directory(), removed);
            }
        } catch (IOException e) {
            LOG.warn("quarantine {}: cannot remove unfinished files ({})", quarantine.directory(), e.toString());
        }
    }

    /** The releases to inject, after the quarantine put right what a crash left; entries only an operator can fix are logged. */
    private List<Quarantine.Released> pending() throws IOException {
        Quarantine.Pending pending = quarantine.pending();
        for (String p : pending.problems()) {
            LOG.warn("quarantine release: {}", p);
        }
        return pending.releases();
    }

    /** The recipients a release queues, and those it cannot: as "address (why)" and as the address alone. */
    private record Routed(List<Recipient> recipients, List<String> refused, List<Integer> refusedIndexes) {}

    private Routed route(QuarantineEntry entry) {
        List<Recipient> recipients = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        List<Integer> refusedIndexes = new ArrayList<>();
        for (int i = 0; i < entry.recipients().size(); i++) {
            String address = entry.recipients().get(i);
            try {
                RcptDecision d = policy.decide(Mailbox.parse(address), RELEASE_CLIENT);
                if (d instanceof RcptDecision.Accept a) {
                    // NOTIFY and ORCPT as the sender gave them (RFC 3461): a NOTIFY=NEVER sender gets no bounce of a release
                    recipients.add(new Recipient(Mailbox.parse(address), entry.dsnOf(i), a.route()));
                } else {
                    refused.add(address + " (" + ((RcptDecision.Refuse) d).reply().summary() + ")");
                    refusedIndexes.add(i);
                }
            } catch (IllegalArgumentException e) {
                refused.add(address + " (" + e.getMessage() + ")");
                refusedIndexes.add(i);
            }
        }
        return new Routed(recipients, refused, refusedIndexes);
    }

    private Outcome inject(Quarantine.Released released) throws IOException {
        QuarantineEntry entry = released.entry();
        Routed routed = route(entry);
        if (routed.recipients().isEmpty()) {
            // A release a crash cut short, for recipients the configuration no longer takes: back into the quarantine,
            // where list, show, delete and a later release see it (in released/ it was out of every operator's sight).
            QuarantineEntry back = quarantine.keep(released, java.util.stream.IntStream.range(0, entry.recipients().size()).boxed().toList());
            quarantine.forget(released);
            LOG.warn("quarantine {}: none of its recipients is accepted now ({}); put back into the quarantine as {}", entry.id(),
                    dev.mxd.smtp.LogText.safe(String.join(", ", routed.refused())), back.id());
            return new Outcome.NoRecipients(back, routed.refused());
        }
        Optional<Mailbox> sender = entry.sender().isEmpty() ? Optional.empty() : Optional.of(Mailbox.parse(entry.sender()));
        // RFC 6531 §3.4: the flag the message came with, or the addresses, or for an entry stored before
        // mxd kept the flag, a header section that is not ASCII (UTF-8 headers need SMTPUTF8 onward).
        boolean utf8 = sender.map(Mailbox::isUtf8).orElse(false) || routed.recipients().stream().anyMatch(r -> r.address().isUtf8())
                || entry.received().map(QuarantineEntry.Received::smtputf8).orElseGet(() -> eightBitHeaders(released));
        boolean eightBitMime = entry.received().map(QuarantineEntry.Received::eightBitMime).orElse(false) || eightBit(released);
        MailParameters parameters = new MailParameters(OptionalLong.of(entry.size()),
                eightBitMime ? MailParameters.Body.EIGHT_BIT_MIME : MailParameters.Body.SEVEN_BIT, utf8,
                entry.received().flatMap(QuarantineEntry.Received::ret), entry.received().flatMap(QuarantineEntry.Received::envid))
                .withRequireTls(entry.received().map(QuarantineEntry.Received::requireTls).orElse(false));
        // The recipients the configuration no longer takes stay in the quarantine, in an entry of their own written before
        // the spool gets the others' copy: a failure or crash after it repeats the release (a second entry at worst).
        Optional<QuarantineEntry> kept = routed.refusedIndexes().isEmpty() ? Optional.empty()
                : Optional.of(quarantine.keep(released, routed.refusedIndexes()));
        String queueId = null;
        MessageStore.StoreOutcome outcome = null;
        MessageStore.IncomingMessage m = null;
        try {
            m = spool.begin(new Transaction(sender, parameters, routed.recipients(), RELEASE_CLIENT));
            try (InputStream in = Files.newInputStream(released.messageFile())) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    m.write(buf, 0, n);
                }
            } catch (IOException | RuntimeException e) {
                m.discard();
                throw e;
            }
            // The text was quarantined as it came: a sender's own verdict fields (X-Spam-Status: No, X-Spam-Flag: NO) are
            // dropped now, as from mail a filter lets through (docs/filters.md).
            outcome = m.commit((in, out) -> MessageTagger.tag(in, out, List.of(), Optional.empty()));
        } catch (IOException | RuntimeException notTaken) {
            if (m == null || !queued(m.id())) {
                throw putBack(released, entry, kept, notTaken);
            }
            // the spool has it after all (a fault after its commit, in what the commit tells): it is queued, so the entry
            // must not come back into the quarantine; it is finished below as any release
            LOG.warn("quarantine {}: the spool took it as {}, then: {}", entry.id(), m.id(), notTaken.toString());
            queueId = m.id();
        }
        if (queueId == null) {
            if (outcome instanceof MessageStore.StoreOutcome.Failed f) { // the spool's own "not accepted": nothing is queued
                throw putBack(released, entry, kept, new IOException("the spool " + spool.root() + " did not take the message: "
                        + f.reply().summary()));
            }
            queueId = ((MessageStore.StoreOutcome.Stored) outcome).queueId();
        }
        if (handOver == HandOver.DEFERRED_NOW) {
            try {
                spool.defer(queueId, QueueState.INCOMING, clock.instant());
            } catch (java.nio.file.NoSuchFileException takenAlready) {
                // the running server's scan of incoming/ found it first: it is queued all the same
            } catch (IOException notMoved) {
                // Committed, so queued: it waits in incoming/, where the running server's scan or the next start takes it.
                // The release is finished all the same; failing it here left the entry in released/, and the next start
                // released it a second time (a duplicate delivered, after a release reported as failed).
                LOG.warn("quarantine {}: queued as {}, left in incoming/ ({}); the running server or the next start delivers it",
                        entry.id(), queueId, dev.mxd.smtp.LogText.safe(notMoved));
            }
        }
        quarantine.forget(released);
        LOG.info("quarantine {} released as {} to {}{}", entry.id(), queueId, routed.recipients().size() + " recipient(s)",
                kept.map(k -> "; kept as " + k.id() + " for " + dev.mxd.smtp.LogText.safe(String.join(", ", routed.refused()))).orElse(""));
        return new Outcome.Queued(entry, queueId, routed.refused(), kept);
    }

    /**
     * A release the spool did not take: nothing is queued, so the entry goes back into the quarantine
     * as it was, visible and deletable, and released only when asked again (left in released/, no
     * command saw it and the next start released it after all). Returns the failure to throw, saying where the entry is.
     */
    private IOException putBack(Quarantine.Released released, QuarantineEntry entry, Optional<QuarantineEntry> kept, Exception notTaken) {
        String where;
        try {
            if (kept.isPresent()) {
                quarantine.delete(kept.get().id()); // its recipients are in the entry put back
            }
            quarantine.putBack(released);
            where = "the entry is back in the quarantine as " + entry.id() + ": release it again once the spool takes mail";
        } catch (IOException | RuntimeException stillReleased) {
            notTaken.addSuppressed(stillReleased);
            where = "the entry stays in " + released.messageFile().getParent() + " (" + stillReleased.getMessage()
                    + "): the next start or release of " + entry.id() + " tries again";
        }
        return new IOException(notTaken.getMessage() + "; " + where, notTaken);
    }

    /** Whether the spool holds the message {@code queueId} (in any state): unknown counts as held, so nothing is put back twice. */
    private boolean queued(String queueId) {
        try {
            return spool.state(queueId).isPresent() && Files.exists(spool.text(queueId)); // an envelope alone is no message
        } catch (RuntimeException unknown) {
            return true;
        }
    }

    /**
     * Whether the header section (up to the first empty line, RFC 5322 §2.1) has an octet that is not
     * ASCII. Unreadable text counts as ASCII here: the injection that follows reads it and says why.
     */
    private static boolean eightBitHeaders(Quarantine.Released released) {
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(released.messageFile()))) {
            int previous = -1;
            for (int b; (b = in.read()) != -1; ) {
                if (b >= 0x80) {
                    return true;
                }
                if (b == '\n' && previous == '\n') {
                    return false; // the empty line: the body starts
                }
                if (b != '\r') {
                    previous = b;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** BODY=8BITMIME when the message came with it, or the text has 8-bit octets (RFC 6152); 7-bit mail stays 7-bit. */
    private static boolean eightBit(Quarantine.Released released) throws IOException {
        try (InputStream in = Files.newInputStream(released.messageFile())) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    if (buf[i] < 0) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
