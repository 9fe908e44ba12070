package dev.mxd.delivery;

import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.queue.DeliveryNotices;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
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
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends delivery status notifications (RFC 3464) from the null path: bounces for failed
 * recipients, success notices where a recipient asked with NOTIFY=SUCCESS (RFC 3461 §4.1).
 * A notice is mail mxd makes itself: it goes into the spool directly, with a route for local
 * mail, never through the inbound recipient policy and its trust check.
 *
 * <p>Where it goes, as with Postfix's bounce and 2bounce_notice_recipient: to the sender; to
 * the postmaster when the sender is the null path (RFC 5321 §4.5.5: never to it), when the
 * sender's address leads to no mailbox here, or when the failed message was itself a notice to
 * a sender (a double bounce); and to nobody when the failed message was a notice to the
 * postmaster: that is logged and ends there, so no loop of notices can start. Which of these a
 * message is, is kept in its envelope ({@link Envelope.Kind}).
 */
public final class DsnNotices implements DeliveryNotices {

    private static final Logger LOG = LoggerFactory.getLogger(DsnNotices.class);

    /** The "client" of a notice's Received header: mxd itself. */
    private static final ClientInfo SELF = new ClientInfo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            "localhost", true, false);

    /** Where mail mxd makes goes; empty when a local domain's address leads to no mailbox. */
    @FunctionalInterface
    public interface LocalMailRoutes {
        Optional<Route> route(Mailbox recipient);
    }

    /** The most of a failed notice returned to the postmaster: its report and the return limit of what it returned, with room. */
    static final int FAILED_NOTICE_LIMIT = 4 * DsnWriter.DEFAULT_RETURN_LIMIT;
    private static final DsnWriter FAILED_NOTICE_WRITER = new DsnWriter(FAILED_NOTICE_LIMIT);

    private final String hostname;
    private final Spool store;
    private final LocalMailRoutes routes;
    private final java.util.function.Supplier<Recipient> postmaster;
    private final DsnWriter writer;
    private final Clock clock;

    /**
     * @param routes     how mail mxd makes is routed ({@code DomainPolicy.routeLocalMail})
     * @param postmaster who gets the notices a sender cannot (Postfix's 2bounce_notice_recipient),
     *                   routed ({@code DomainPolicy.noticePostmaster})
     */
    public DsnNotices(String hostname, Spool store, LocalMailRoutes routes, Recipient postmaster, DsnWriter writer, Clock clock) {
        this(hostname, store, routes, () -> postmaster, writer, clock);
    }

    /** With the postmaster asked at each notice, as the configuration in force (SIGHUP) resolves it. */
    public DsnNotices(String hostname, Spool store, LocalMailRoutes routes, java.util.function.Supplier<Recipient> postmaster,
                      DsnWriter writer, Clock clock) {
        this.hostname = hostname;
        this.store = store;
        this.routes = routes;
        this.postmaster = postmaster;
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
        List<DsnReport.Recipient> failures = failures(lines);
        switch (envelope.kind()) {
            case POSTMASTER_NOTICE -> {
                if (!failures.isEmpty()) {
                    LOG.error("{}: notice to the postmaster <{}> undeliverable; it ends here (no notice about a notice "
                                    + "to the postmaster): {}", envelope.id(),
                            LogText.safe(envelope.recipients().get(0).recipient().address()), LogText.safe(summary(failures)));
                }
            }
            case SENDER_NOTICE -> toPostmaster(envelope, text, failures, "the notice to its sender could not be delivered");
            case MAIL -> {
                if (envelope.sender().isEmpty()) {
                    toPostmaster(envelope, text, failures, "its sender is the null path");
                } else {
                    toSender(envelope, text, lines, envelope.sender().get());
                }
            }
        }
    }

    private void toSender(Envelope envelope, Path text, List<DsnReport.Recipient> lines, Mailbox sender) throws IOException {
        if (lines.isEmpty()) {
            return;
        }
        Optional<Route> route;
        try {
            route = routes.route(sender);
        } catch (RuntimeException e) {
            LOG.warn("{}: cannot route a notice to <{}>: {}", envelope.id(), LogText.safe(sender), LogText.safe(e.toString()));
            route = Optional.empty();
        }
        if (route.isEmpty()) {
            toPostmaster(envelope, text, failures(lines), "its sender <" + sender + "> leads to no mailbox here");
            return;
        }
        String queued = spool(envelope, text, lines, new Recipient(sender, RcptParameters.NONE, route.get()),
                DsnReport.Audience.SENDER, Envelope.Kind.SENDER_NOTICE);
        // Postfix's words, which log tools (pflogsumm) and greps look for
        String kind = !failures(lines).isEmpty() ? "non-delivery"
                : lines.stream().anyMatch(r -> r.action() == DsnReport.Action.DELAYED) ? "delay" : "delivery status";
        LOG.info("{}: sender {} notification: {}", envelope.id(), kind, queued);
    }

    private void toPostmaster(Envelope envelope, Path text, List<DsnReport.Recipient> failures, String why) throws IOException {
        if (failures.isEmpty()) {
            return;
        }
        Recipient postmaster = this.postmaster.get();
        String queued = spool(envelope, text, failures, postmaster, DsnReport.Audience.POSTMASTER, Envelope.Kind.POSTMASTER_NOTICE);
        LOG.warn("{}: undeliverable and {}: notice to the postmaster <{}>: {}", envelope.id(), LogText.safe(why), postmaster.address(),
                queued);
    }

    /** Writes the notice and stores it; its queue id. */
    private String spool(Envelope envelope, Path text, List<DsnReport.Recipient> lines, Recipient to,
                         DsnReport.Audience audience, Envelope.Kind kind) throws IOException {
        // RET is about failure notices (RFC 3461 §4.3): one that reports no failure (delivered, relayed) carries the header only.
        // The postmaster gets the original's header only (another's mail is not theirs to read), except for a
        // failed notice: that one is returned whole, since it is what names the recipients the sender was never told of.
        // A failed notice returned to the postmaster comes whole up to its own, larger limit (a report and at most the
        // return limit of another message): its report names the recipients its sender was never told of.
        boolean failedNotice = envelope.kind() == Envelope.Kind.SENDER_NOTICE && audience == DsnReport.Audience.POSTMASTER;
        // RFC 8689 §5: the notice of a REQUIRETLS message returns its header only, RET=FULL or not (it may travel less safely).
        // (A failed notice of such a message holds the header only already: it goes to the postmaster whole.)
        boolean full = (failedNotice || !envelope.parameters().requireTls()) && envelope.parameters().ret().map(ret -> ret == DsnReturn.FULL).orElse(true)
                && lines.stream().anyMatch(l -> l.action() == DsnReport.Action.FAILED)
                && (audience != DsnReport.Audience.POSTMASTER || failedNotice);
        int most = failedNotice ? FAILED_NOTICE_LIMIT : DsnWriter.DEFAULT_RETURN_LIMIT;
        byte[] original;
        boolean unread = false;
        try {
            original = readAtMost(text, (int) Math.min(envelope.size(), most + 1L));
        } catch (java.nio.file.NoSuchFileException | java.nio.file.AccessDeniedException gone) {
            // The text is gone (removed by hand) or not ours to read: every attempt failed on it, and without this the
            // notice failed too and the message was retried for ever, its sender never told. Another I/O error (too many
            // open files, a disk error that may pass) is thrown: the notice is tried again with the text later.
            LOG.error("{}: cannot read the message's text for its notice ({}); the notice goes without it",
                    envelope.id(), LogText.safe(gone.toString()));
            original = new byte[0];
            unread = true;
        }
        if (original.length > most) { // larger than it may come back: its header only (a notice that large names thousands)
            original = DsnWriter.headersOf(original);
            full = false;
        }
        boolean international = envelope.parameters().smtputf8();
        byte[] dsn = (failedNotice ? FAILED_NOTICE_WRITER : writer).write(new DsnReport(hostname, envelope.id(), envelope.parameters().envid(), to.address().toString(),
                audience, envelope.arrival(), lines, full, international, original, unread));
        MailParameters params = new MailParameters(OptionalLong.empty(),
                eightBit(dsn) ? MailParameters.Body.EIGHT_BIT_MIME : MailParameters.Body.SEVEN_BIT, international,
                Optional.empty(), Optional.empty(), envelope.parameters().requireTls());
        // RFC 8689 §5: the notice of a REQUIRETLS message carries its header, so it is marked REQUIRETLS too; from <>, it is
        // not held to §4.2.1's rules, which bind a non-empty return path (RemoteDeliveryAgent.TlsDemand), and goes as other mail.
        MessageStore.StoreOutcome stored = store.store(new ReceivedMessage(Optional.empty(), params, List.of(to), SELF,
                clock.instant(), dsn), kind);
        if (stored instanceof MessageStore.StoreOutcome.Failed f) {
            throw new IOException("cannot spool the delivery status notice for " + envelope.id() + ": " + f.reply());
        }
        return ((MessageStore.StoreOutcome.Stored) stored).queueId();
    }

    /** The postmaster hears of failures only, never of success notices the sender asked for. */
    private static List<DsnReport.Recipient> failures(List<DsnReport.Recipient> lines) {
        return lines.stream().filter(l -> l.action() == DsnReport.Action.FAILED).toList();
    }

    /** RFC 3461 §4.1: no NOTIFY means failures only; NEVER means nothing. */
    private static boolean wanted(RecipientStatus r) {
        var notify = r.recipient().dsn().notifyOn();
        if (notify.contains(DsnNotify.NEVER)) {
            return false;
        }
        if (r.state() == DeliveryState.FAILED) {
            return notify.isEmpty() || notify.contains(DsnNotify.FAILURE);
        }
        return r.state() == DeliveryState.DELIVERED && notify.contains(DsnNotify.SUCCESS);
    }

    static DsnReport.Recipient line(RecipientStatus r) {
        // Handed to another server (it has a Remote-MTA; a local delivery never has one): "relayed". QueueManager asks
        // for a success line of a remote delivery only when the next hop did not announce DSN (relayedWithoutDsn).
        // An alias written into several mailboxes: "expanded" (RFC 3464 §2.3.3, RFC 3461 §6.2.7.3), as Postfix's local
        // reports an alias of several members; the members' own deliveries are not reported apart.
        DsnReport.Action action = r.state() == DeliveryState.FAILED ? DsnReport.Action.FAILED
                : r.remoteMta().isPresent() ? DsnReport.Action.RELAYED
                : r.recipient().route() instanceof Route.Local l && l.mailboxes().size() > 1 ? DsnReport.Action.EXPANDED
                : DsnReport.Action.DELIVERED;
        String status = r.status().orElse(action == DsnReport.Action.FAILED ? EnhancedStatus.PERMANENT_FAILURE : EnhancedStatus.OK).toString();
        Optional<String> host = r.remoteMta().map(DsnNotices::hostName).filter(h -> !h.isEmpty());
        return new DsnReport.Recipient(r.recipient().address().toString(), r.recipient().dsn().orcpt(), action, status,
                host, diagnostic(r), r.updated());
    }

    /** RFC 3464 §2.3.6: "smtp" for a reply a server gave, "X-mxd" for what mxd found itself (DNS, Maildir, expiry). */
    private static Optional<DsnReport.Diagnostic> diagnostic(RecipientStatus r) {
        if (r.detail().isEmpty()) {
            return Optional.empty();
        }
        if (r.reply().isPresent()) {
            // Every line of the server's reply with its code, joined by spaces as Postfix writes it ("550-5.1.1 The email
            // account ... 550 5.1.1 https://..."; Gmail names its help page in its last line), up to 4,000 characters: a
            // reply may have thousands of lines.
            SmtpReply reply = r.reply().get();
            StringBuilder joined = new StringBuilder();
            for (int i = 0; i < reply.lines().size(); i++) {
                boolean last = i == reply.lines().size() - 1;
                joined.append(i == 0 ? "" : " ").append(reply.code()).append(last ? ' ' : '-').append(reply.lines().get(i));
            }
            String all = joined.toString();
            return Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP,
                    all.length() > 4000 ? all.substring(0, 4000) + " ..." : all));
        }
        return Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.MXD, r.detail()));
    }

    /**
     * RFC 3464 §2.3.5: Remote-MTA names the host, "dns; mx.example.org": the agents record
     * Postfix's log form "host[address]:port", of which only the host is kept.
     */
    static String hostName(String remoteMta) {
        int bracket = remoteMta.indexOf('[');
        if (bracket > 0) {
            return remoteMta.substring(0, bracket);
        }
        if (bracket == 0) {
            int end = remoteMta.indexOf(']');
            return end > 0 ? remoteMta.substring(1, end) : remoteMta.substring(1);
        }
        return remoteMta.replaceFirst(":[0-9]+$", "");
    }

    private static String summary(List<DsnReport.Recipient> lines) {
        return lines.stream().map(l -> l.finalRecipient() + " " + l.status()).toList().toString();
    }

    private static boolean eightBit(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return true;
            }
        }
        return false;
    }

    private static byte[] readAtMost(Path file, int limit) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(limit);
        }
    }
}
