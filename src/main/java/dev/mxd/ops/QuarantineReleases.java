package dev.mxd.ops;

import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.server.ClientInfo;
import dev.mxd.smtp.server.MessageStore;
import dev.mxd.smtp.server.RcptDecision;
import dev.mxd.smtp.server.ReceivedMessage;
import dev.mxd.smtp.server.Recipient;
import dev.mxd.smtp.server.RecipientPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releasing a quarantined message: it goes back into the spool for its original recipients,
 * routed again by today's configuration, as if a trusted local client sent it (it was accepted
 * once; the filter is not asked again). Two steps, so a crash loses nothing: the quarantine
 * moves the entry to {@code released/}, the spool stores it, then the entry is forgotten; at
 * start-up whatever is left in {@code released/} (also from {@code mxd quarantine release
 * --data-dir} while the server was down) is injected.
 */
public final class QuarantineReleases {

    private static final Logger LOG = LoggerFactory.getLogger(QuarantineReleases.class);
    private static final ClientInfo OPERATOR = new ClientInfo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            "localhost", true, false);

    /** What a release did. */
    public sealed interface Outcome {
        record Released(QuarantineEntry entry, String queueId) implements Outcome {}

        record NoSuchEntry(String id) implements Outcome {}
    }

    private final Quarantine quarantine;
    private final Spool spool;
    private final RecipientPolicy policy;
    private final Clock clock;

    public QuarantineReleases(Quarantine quarantine, Spool spool, RecipientPolicy policy, Clock clock) {
        this.quarantine = quarantine;
        this.spool = spool;
        this.policy = policy;
        this.clock = clock;
    }

    public Quarantine quarantine() {
        return quarantine;
    }

    public Outcome release(String id) throws IOException {
        Optional<Quarantine.Released> r = quarantine.release(id);
        if (r.isEmpty()) {
            return new Outcome.NoSuchEntry(id);
        }
        return new Outcome.Released(r.get().entry(), inject(r.get()));
    }

    /** Injects what an earlier release left in {@code released/}; returns how many. */
    public int injectPending() {
        int n = 0;
        try {
            for (Quarantine.Released r : quarantine.pendingReleases()) {
                try {
                    inject(r);
                    n++;
                } catch (IOException e) {
                    LOG.error("quarantine {}: cannot re-inject the released message ({}); it stays in {}", r.entry().id(), e.getMessage(),
                            r.messageFile().getParent());
                }
            }
        } catch (IOException e) {
            LOG.error("quarantine {}: cannot list released messages: {}", quarantine.directory(), e.getMessage());
        }
        return n;
    }

    private String inject(Quarantine.Released r) throws IOException {
        QuarantineEntry e = r.entry();
        List<Recipient> recipients = new ArrayList<>();
        for (String address : e.recipients()) {
            Mailbox box = Mailbox.parse(address);
            RcptDecision d = policy.decide(box, OPERATOR);
            if (d instanceof RcptDecision.Accept a) {
                recipients.add(new Recipient(box, RcptParameters.NONE, a.route()));
            } else {
                LOG.warn("quarantine {}: <{}> is no longer accepted ({}); released without it", e.id(), address,
                        ((RcptDecision.Refuse) d).reply().summary());
            }
        }
        if (recipients.isEmpty()) {
            throw new IOException("none of its recipients " + e.recipients() + " is accepted by the current configuration");
        }
        Optional<Mailbox> sender = e.sender().isEmpty() ? Optional.empty() : Optional.of(Mailbox.parse(e.sender()));
        MailParameters params = new MailParameters(OptionalLong.empty(), MailParameters.Body.EIGHT_BIT_MIME, false,
                Optional.empty(), Optional.empty());
        byte[] text = Files.readAllBytes(r.messageFile());
        MessageStore.StoreOutcome stored = spool.store(new ReceivedMessage(sender, params, recipients, OPERATOR, clock.instant(), text));
        if (stored instanceof MessageStore.StoreOutcome.Failed f) {
            throw new IOException("the spool refused it: " + f.reply().summary());
        }
        String queueId = ((MessageStore.StoreOutcome.Stored) stored).queueId();
        quarantine.forget(r);
        LOG.info("{}: released from quarantine {} (was queue id {})", queueId, e.id(), e.queueId());
        return queueId;
    }
}
