package dev.mxd.delivery;

import dev.mxd.queue.DeliveryNotices;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
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
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends delivery status notifications (RFC 3464) back into the spool, addressed to the
 * original sender from the null path: bounces for failed recipients, success notices where
 * a recipient asked with NOTIFY=SUCCESS (RFC 3461 §4.1). Never bounces a bounce: a failure
 * of mail from the null sender is logged and dropped, as RFC 5321 §4.5.5 requires.
 */
public final class DsnNotices implements DeliveryNotices {

    private static final Logger LOG = LoggerFactory.getLogger(DsnNotices.class);

    /** Bounces are injected as if a trusted local client sent them, so they may be relayed by MX. */
    private static final ClientInfo SELF = new ClientInfo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            "localhost", true, false);

    private final String hostname;
    private final Spool store;
    private final RecipientPolicy policy;
    private final DsnWriter writer;
    private final Clock clock;
    private final Optional<Mailbox> doubleBounceRecipient;

    /**
     * @param doubleBounceRecipient where notices about undeliverable bounces go (Postfix's
     *                              2bounce_notice_recipient); empty: they are logged and dropped
     */
    public DsnNotices(String hostname, Spool store, RecipientPolicy policy, DsnWriter writer, Clock clock,
                      Optional<Mailbox> doubleBounceRecipient) {
        this.doubleBounceRecipient = doubleBounceRecipient;
        this.hostname = hostname;
        this.store = store;
        this.policy = policy;
        this.writer = writer;
        this.clock = clock;
    }

    @Override
    public void send(Envelope envelope, Path text, List<RecipientStatus> reported) throws IOException {
        List<DsnReport.Recipient> lines = new ArrayList<>();
        for (RecipientStatus r : reported) {
            if (wanted(r)) {
                lines.add(line(r));
            }
        }
        if (lines.isEmpty()) {
            return;
        }
        if (envelope.sender().isEmpty() && doubleBounceRecipient.isEmpty()) {
            LOG.warn("{}: undeliverable bounce dropped (never bounce a bounce): {}", envelope.id(),
                    lines.stream().map(l -> l.finalRecipient() + " " + l.status()).toList());
            return;
        }
        // A bounce that cannot be delivered is never returned to its null sender; the postmaster may see it.
        Mailbox sender = envelope.sender().or(() -> doubleBounceRecipient).orElseThrow();
        if (envelope.sender().isEmpty()) {
            LOG.warn("{}: undeliverable bounce; notice to the postmaster <{}>", envelope.id(), sender);
        }
        boolean full = envelope.parameters().ret().map(ret -> ret == MailParameters.Ret.FULL).orElse(true);
        byte[] original = readAtMost(text, (int) Math.min(envelope.size(), DsnWriter.DEFAULT_RETURN_LIMIT + 1));
        if (original.length > DsnWriter.DEFAULT_RETURN_LIMIT) {
            original = DsnWriter.headersOf(original);
            full = false;
        }
        DsnReport report = new DsnReport(hostname, envelope.id(), envelope.parameters().envid(), sender.toString(),
                envelope.arrival(), lines, full, original);
        byte[] dsn = writer.write(report);

        RcptDecision decision = policy.decide(sender, SELF);
        if (decision instanceof RcptDecision.Refuse refuse) {
            LOG.warn("{}: cannot return a notice to <{}>: {}; dropped", envelope.id(), sender, refuse.reply());
            return;
        }
        Recipient to = new Recipient(sender, RcptParameters.NONE, ((RcptDecision.Accept) decision).route());
        MailParameters params = new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.EIGHT_BIT_MIME,
                envelope.parameters().smtputf8(), Optional.empty(), Optional.empty());
        MessageStore.StoreOutcome stored = store.store(new ReceivedMessage(Optional.empty(), params, List.of(to), SELF,
                clock.instant(), dsn));
        if (stored instanceof MessageStore.StoreOutcome.Failed f) {
            throw new IOException("cannot spool the delivery status notice for " + envelope.id() + ": " + f.reply());
        }
        LOG.info("{}: sender non-delivery notification: {}", envelope.id(), ((MessageStore.StoreOutcome.Stored) stored).queueId());
    }

    /** RFC 3461 §4.1: no NOTIFY means failures only; NEVER means nothing. */
    private static boolean wanted(RecipientStatus r) {
        var notify = r.recipient().dsn().notifyOn();
        if (notify.contains(RcptParameters.Notify.NEVER)) {
            return false;
        }
        if (r.state() == DeliveryState.FAILED) {
            return notify.isEmpty() || notify.contains(RcptParameters.Notify.FAILURE);
        }
        return r.state() == DeliveryState.DELIVERED && notify.contains(RcptParameters.Notify.SUCCESS);
    }

    private static DsnReport.Recipient line(RecipientStatus r) {
        DsnReport.Action action = r.state() == DeliveryState.FAILED ? DsnReport.Action.FAILED : DsnReport.Action.DELIVERED;
        String status = r.status().orElse(action == DsnReport.Action.FAILED ? "5.0.0" : "2.0.0");
        Optional<String> diagnostic = r.remoteMta().isPresent() ? Optional.of(r.detail()) : Optional.empty();
        return new DsnReport.Recipient(r.recipient().address().toString(), r.recipient().dsn().orcpt(), action, status,
                r.remoteMta(), diagnostic.or(() -> Optional.of(r.detail()).filter(d -> !d.isEmpty())), r.updated());
    }

    private static byte[] readAtMost(Path file, int limit) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(limit);
        }
    }
}
