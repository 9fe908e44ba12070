package dev.mxd.delivery;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxResolver;
import dev.mxd.queue.DeliveryAgent;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.FlushListener;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.RecipientOutcome;
import dev.mxd.smtp.client.SessionFailure;
import dev.mxd.smtp.client.SessionStage;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers a message's recipients in one domain by MX (Postfix's smtp agent): resolves the
 * domain's delivery plan, tries its addresses in order (skipping those the host status table
 * postpones), and gives the recipients' outcomes from the first address that takes the
 * transaction. Connection-level trouble (refused, timeout, bad greeting, EHLO or TLS failure)
 * moves on to the next address within the same attempt and marks the address failed; an
 * answered transaction is final for this attempt: RCPT 2xx delivered, 4xx deferred, 5xx
 * failed (RFC 5321 §5.1, §4.2.5).
 */
public final class RemoteDeliveryAgent implements DeliveryAgent, FlushListener {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteDeliveryAgent.class);

    private final MxResolver resolver;
    private final RouteSelector selector;
    private final HostStatusTable hostStatus;
    private final ClientSettings client;
    private final ConnectionCache connections;
    private final Clock clock;

    public RemoteDeliveryAgent(MxResolver resolver, RouteSelector selector, HostStatusTable hostStatus,
                               ClientSettings client, ConnectionCache connections, Clock clock) {
        this.resolver = resolver;
        this.selector = selector;
        this.hostStatus = hostStatus;
        this.client = client;
        this.connections = connections;
        this.clock = clock;
    }

    public HostStatusTable hostStatus() {
        return hostStatus;
    }

    /** The operator flushed the queue: every dead host gets its chance again at once. */
    @Override
    public void flushedAll() {
        hostStatus.clear();
        LOG.info("flush: host status forgotten for every MX host");
    }

    /** The operator flushed a message: its destinations' MX hosts get their chance again at once. */
    @Override
    public void flushed(Set<String> destinations) {
        for (String domain : destinations) {
            MxOutcome plan;
            try {
                plan = resolver.resolve(domain);
            } catch (IllegalArgumentException badDomain) {
                continue;
            }
            if (plan instanceof MxOutcome.Routes routes) {
                selector.all(routes).forEach(hostStatus::forget);
                LOG.info("flush: host status forgotten for the MX hosts of {}", domain);
            }
        }
    }

    @Override
    public List<RecipientStatus> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        String domain = ((dev.mxd.mail.Route.Relay) recipients.get(0).recipient().route()).domain();
        MxOutcome plan;
        try {
            plan = resolver.resolve(domain);
        } catch (IllegalArgumentException badDomain) {
            return all(recipients, DeliveryState.FAILED, EnhancedStatus.BAD_SYSTEM, "bad destination domain: " + badDomain.getMessage(), null);
        }
        if (!(plan instanceof MxOutcome.Routes routes)) {
            DeliveryState state = plan.permanent() ? DeliveryState.FAILED : DeliveryState.DEFERRED;
            return all(recipients, state, plan.status(), plan.error().orElse(plan.kind()), null);
        }
        RouteSelector.Selection selection = selector.select(routes);
        List<MxRoute> probing = new ArrayList<>(selection.probes());
        try {
            return deliver(envelope, text, recipients, domain, selection, probing);
        } finally {
            probing.forEach(hostStatus::endProbe); // its result is recorded: others may connect, or wait for the retry time
        }
    }

    private List<RecipientStatus> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients, String domain,
                                          RouteSelector.Selection selection, List<MxRoute> probing) {
        if (selection.routes().isEmpty()) {
            java.time.Instant now = clock.instant();
            String why = selection.postponed().stream()
                    .map(s -> s.host() + "[" + dev.mxd.dns.AddressText.of(s.address().getAddress()) + "] "
                            + (s.retryAt().isAfter(now) ? "until " + s.retryAt() : "while another delivery probes it")
                            + " (" + s.lastError() + ")")
                    .collect(Collectors.joining("; "));
            return all(recipients, DeliveryState.DEFERRED, EnhancedStatus.NO_ANSWER,
                    "every MX host of " + domain + " failed recently and is passed over: " + why, null);
        }
        dev.mxd.smtp.client.Envelope transaction;
        try {
            transaction = transaction(envelope, text, recipients);
        } catch (java.io.IOException e) {
            return all(recipients, DeliveryState.DEFERRED, EnhancedStatus.LOCAL_ERROR, "cannot read the spooled message: " + e.getMessage(), null);
        }
        String lastProblem = "no MX address answered";
        // Recipients an address could never take (no SMTPUTF8 for a non-ASCII address): failed, not retried.
        Map<Integer, RecipientStatus> settled = new HashMap<>();
        List<MxRoute> tries = new ArrayList<>(selection.routes());
        for (int i = 0; i < tries.size(); i++) {
            MxRoute route = tries.get(i);
            Try t = attempt(route, transaction, client);
            if (t.result().isPresent()) {
                return outcomes(recipients, (TransactionResult.Completed) t.result().get(), route);
            }
            t.settled().forEach((k, o) -> settled.put(k, recipients.get(k).with(DeliveryState.FAILED, o.detail(),
                    clock.instant(), o.status(), Optional.of(route.toString()), o.reply())));
            lastProblem = t.problem();
            if (i == tries.size() - 1) {
                lastResort(selection, tries, probing).ifPresent(tries::add); // nothing else is left
            }
        }
        List<RecipientStatus> out = new ArrayList<>(all(recipients, DeliveryState.DEFERRED, EnhancedStatus.NO_ANSWER,
                "could not deliver to any MX host of " + domain + ": " + lastProblem, null));
        settled.forEach(out::set);
        return out;
    }

    /**
     * The next postponed address to try when every other one has failed in this attempt, if
     * another delivery is not probing it already (then this one takes the probe lease).
     */
    private Optional<MxRoute> lastResort(RouteSelector.Selection selection, List<MxRoute> tried, List<MxRoute> probing) {
        for (MxRoute route : selection.lastResort()) {
            if (tried.contains(route)) {
                continue;
            }
            switch (hostStatus.admit(route, true)) {
                case PROBE -> {
                    probing.add(route);
                    return Optional.of(route);
                }
                case HEALTHY -> {
                    return Optional.of(route); // forgotten meanwhile (a flush)
                }
                case POSTPONED -> {
                    // another delivery is probing it: its result decides
                }
            }
        }
        return Optional.empty();
    }

    /** What one address did: the transaction's result, or why it could not take it. */
    private record Try(Optional<TransactionResult> result, String problem, Map<Integer, RecipientOutcome.Failed> settled) {
        Try(Optional<TransactionResult> result, String problem) {
            this(result, problem, Map.of());
        }
    }

    /** One address: a cached or new connection, then the transaction. */
    private Try attempt(MxRoute route, dev.mxd.smtp.client.Envelope transaction, ClientSettings settings) {
        SmtpConnection connection = connections.take(route.socketAddress()).orElse(null);
        boolean cached = connection != null;
        if (connection == null) {
            OpenResult opened = SmtpConnection.open(route.socketAddress(), route.host(), settings);
            if (opened instanceof OpenResult.Failed f) {
                return retryWithoutTlsOrFail(route, transaction, settings, f.failure());
            }
            connection = ((OpenResult.Ready) opened).connection();
        }
        TransactionResult result = connection.send(transaction);
        if (result instanceof TransactionResult.Failed f) {
            connection.close();
            if (cached) {
                // The server may have closed an idle cached connection: that says nothing about the host.
                LOG.debug("{}: cached connection unusable ({}); opening a new one", route, LogText.safe(f.failure().detail()));
                return attempt(route, transaction, settings);
            }
            return new Try(Optional.empty(), noteFailure(route, f.failure()), f.settled());
        }
        hostStatus.succeeded(route);
        connections.release(route.socketAddress(), connection);
        return new Try(Optional.of(result), "");
    }

    private Try retryWithoutTlsOrFail(MxRoute route, dev.mxd.smtp.client.Envelope transaction,
                                                              ClientSettings settings, SessionFailure failure) {
        if (failure.tlsFailed() && settings.tls() == TlsPolicy.OPPORTUNISTIC) {
            LOG.info("{}: TLS handshake failed ({}); trying again without TLS", route, LogText.safe(failure.detail()));
            return attempt(route, transaction, settings.withTls(TlsPolicy.NONE));
        }
        return new Try(Optional.empty(), noteFailure(route, failure));
    }

    /** Connection-level failures postpone the address; a broken transaction says nothing about the host. */
    private String noteFailure(MxRoute route, SessionFailure failure) {
        String what = failure.detail();
        if (failure.stage().compareTo(SessionStage.RSET) < 0) {
            HostStatusTable.Status s = hostStatus.failed(route, what);
            LOG.warn("{}: {} ({}); passed over until {}", route, LogText.safe(what), failure.code(), s.retryAt());
        } else {
            LOG.warn("{}: {} ({})", route, LogText.safe(what), failure.code());
        }
        return route + ": " + what;
    }

    private List<RecipientStatus> outcomes(List<RecipientStatus> recipients, TransactionResult.Completed done, MxRoute route) {
        List<RecipientStatus> out = new ArrayList<>();
        String mta = route.toString();
        for (int i = 0; i < recipients.size(); i++) {
            RecipientStatus r = recipients.get(i);
            RecipientOutcome o = done.recipients().get(i);
            DeliveryState state = o instanceof RecipientOutcome.Accepted ? DeliveryState.DELIVERED
                    : o instanceof RecipientOutcome.Failed ? DeliveryState.FAILED : DeliveryState.DEFERRED;
            out.add(r.with(state, o.detail(), clock.instant(), o.status(), Optional.of(mta), serverReply(o)));
        }
        return out;
    }

    /**
     * The reply a recipient's outcome is the server's answer to, for the notice's Diagnostic-Code:
     * the reply to the final dot, or the refusal of MAIL, RCPT, DATA or the content. Outcomes mxd
     * decided itself (a lost connection, a message the server cannot take) have none.
     */
    private static Optional<SmtpReply> serverReply(RecipientOutcome o) {
        if (o instanceof RecipientOutcome.Accepted a) {
            return Optional.of(a.finalReply());
        }
        if (o instanceof RecipientOutcome.Failed f) {
            return f.reply();
        }
        RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) o;
        return d.reply().filter(reply -> !reply.positive()); // a 2yz to DATA is no refusal: the deferral is mxd's
    }

    private List<RecipientStatus> all(List<RecipientStatus> recipients, DeliveryState state, EnhancedStatus status, String detail,
                                      String mta) {
        List<RecipientStatus> out = new ArrayList<>();
        for (RecipientStatus r : recipients) {
            out.add(r.with(state, detail, clock.instant(), status, Optional.ofNullable(mta)));
        }
        return out;
    }

    private static dev.mxd.smtp.client.Envelope transaction(Envelope e, Path text, List<RecipientStatus> recipients)
            throws java.io.IOException {
        List<dev.mxd.smtp.client.Recipient> rcpts = new ArrayList<>();
        for (RecipientStatus r : recipients) {
            RcptParameters dsn = r.recipient().dsn();
            Set<dev.mxd.smtp.client.Recipient.Notify> notify = EnumSet.noneOf(dev.mxd.smtp.client.Recipient.Notify.class);
            dsn.notifyOn().forEach(n -> notify.add(dev.mxd.smtp.client.Recipient.Notify.valueOf(n.name())));
            Optional<String> orcpt = dsn.orcpt().map(o -> o.regionMatches(true, 0, "rfc822;", 0, 7) ? o.substring(7) : o);
            rcpts.add(new dev.mxd.smtp.client.Recipient(r.recipient().address().toString(), notify, orcpt));
        }
        MailParameters p = e.parameters();
        return new dev.mxd.smtp.client.Envelope(e.sender().map(Mailbox::toString).orElse(""), rcpts,
                p.body() == MailParameters.Body.EIGHT_BIT_MIME, p.smtputf8(),
                p.ret().map(r -> dev.mxd.smtp.client.Envelope.Ret.valueOf(r.name())), p.envid(), MessageContent.of(text, e.size()));
    }
}
