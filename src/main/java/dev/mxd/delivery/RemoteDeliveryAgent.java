package dev.mxd.delivery;

import dev.mxd.smtp.AddressText;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryAgent;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.FlushListener;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.OutboundEnvelope;
import dev.mxd.smtp.client.OutboundRecipient;
import dev.mxd.smtp.client.RecipientOutcome;
import dev.mxd.smtp.client.SessionFailure;
import dev.mxd.smtp.client.SessionStage;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsPolicies;
import dev.mxd.tls.TlsResults;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
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

    /** How long after a deferral for a host being probed the message is tried again: about a probe's time. */
    static final java.time.Duration PROBE_RESULT = java.time.Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(RemoteDeliveryAgent.class);

    private final MxResolver resolver;
    private final RouteSelector selector;
    private final HostStatusTable hostStatus;
    private final ClientSettings client;
    private final ConnectionCache connections;
    /** The connections a transaction is running on now: {@link #cutShort} ends them. */
    private final Set<SmtpConnection> sending = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The sockets of connections being opened now (connect, greeting, EHLO, STARTTLS): a stop closes them. */
    private final Set<java.net.Socket> opening = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** A stop has cut deliveries short: every later one is deferred without a connection. */
    private volatile boolean cutShort;
    private final Clock clock;
    private final NextHop.Routing routing;
    private final TlsPolicies tlsPolicies;
    private final TlsResults tlsResults;
    private final Optional<ServerAuthentication> requireTlsPkix;

    /** An agent that sends every domain's mail to that domain's own MX hosts. */
    public RemoteDeliveryAgent(MxResolver resolver, RouteSelector selector, HostStatusTable hostStatus,
                               ClientSettings client, ConnectionCache connections, Clock clock) {
        this(resolver, selector, hostStatus, client, connections, clock, NextHop.Routing.BY_MX);
    }

    /**
     * An agent that asks {@code routing} for each destination's next hop (delivery.routes, then
     * delivery.relay-host): a relay host's addresses are tried, with host status, in place of the MX hosts.
     */
    public RemoteDeliveryAgent(MxResolver resolver, RouteSelector selector, HostStatusTable hostStatus,
                               ClientSettings client, ConnectionCache connections, Clock clock, NextHop.Routing routing) {
        this(resolver, selector, hostStatus, client, connections, clock, routing, TlsPolicies.OPPORTUNISTIC, TlsResults.NONE);
    }

    /**
     * An agent that also asks {@code tlsPolicies} what TLS each MX host must use (DANE, MTA-STS) and
     * tells {@code tlsResults} how each session's TLS went.
     */
    public RemoteDeliveryAgent(MxResolver resolver, RouteSelector selector, HostStatusTable hostStatus,
                               ClientSettings client, ConnectionCache connections, Clock clock, NextHop.Routing routing,
                               TlsPolicies tlsPolicies, TlsResults tlsResults) {
        this(resolver, selector, hostStatus, client, connections, clock, routing, tlsPolicies, tlsResults, Optional.empty());
    }

    /**
     * An agent that, for a REQUIRETLS message, also takes an MX host of a DNSSEC-secure MX lookup that neither DANE
     * nor MTA-STS authenticates when its certificate passes {@code requireTlsPkix} (RFC 8689 §4.2.1; the Web PKI of
     * delivery.tls.ca-file). Without it such a message goes only where DANE or an enforced MTA-STS policy applies.
     */
    public RemoteDeliveryAgent(MxResolver resolver, RouteSelector selector, HostStatusTable hostStatus,
                               ClientSettings client, ConnectionCache connections, Clock clock, NextHop.Routing routing,
                               TlsPolicies tlsPolicies, TlsResults tlsResults, Optional<ServerAuthentication> requireTlsPkix) {
        this.requireTlsPkix = requireTlsPkix;
        this.tlsPolicies = tlsPolicies;
        this.tlsResults = tlsResults;
        this.routing = routing;
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
            Plan plan;
            try {
                plan = plan(domain);
            } catch (IllegalArgumentException badDomain) {
                continue;
            }
            if (plan.outcome() instanceof MxOutcome.Routes routes) {
                selector.all(routes, plan.port()).forEach(hostStatus::forget);
                LOG.info("flush: host status forgotten for the {}", plan.hosts(domain));
            }
        }
    }

    @Override
    public List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        return deliver(envelope, text, recipients, false);
    }

    @Override
    public List<DeliveryResult> deliverLast(Envelope envelope, Path text, List<RecipientStatus> recipients) {
        return deliver(envelope, text, recipients, true);
    }

    /** {@code everyHost}: the last attempt, which tries hosts the host status table passes over too. */
    private List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients, boolean everyHost) {
        if (cutShort) {
            return all(recipients, DeliveryResult.Deferred.of(EnhancedStatus.NOT_ACCEPTING, "mxd is stopping; tried again"
                    + " when it starts"));
        }
        String domain = domainOf(recipients);
        Plan resolved;
        try {
            resolved = plan(domain);
        } catch (IllegalArgumentException badDomain) {
            return all(recipients, DeliveryResult.Failed.of(EnhancedStatus.BAD_SYSTEM, "bad destination domain: " + badDomain.getMessage()));
        }
        MxOutcome plan = resolved.outcome();
        if (!(plan instanceof MxOutcome.Routes routes)) {
            String why = plan.error().orElse(plan.kind());
            if (resolved.relay().isPresent()) {
                // A relay host that cannot be resolved is the operator's to mend, not the sender's fault: never bounce for it.
                return all(recipients, DeliveryResult.Deferred.of(plan.permanent() ? EnhancedStatus.UNABLE_TO_ROUTE : plan.status(),
                        "relay host " + resolved.relay().get() + " for " + domain + ": " + why));
            }
            return all(recipients, plan.permanent() ? DeliveryResult.Failed.of(plan.status(), why)
                    : DeliveryResult.Deferred.of(plan.status(), why));
        }
        RouteSelector.Selection selection = everyHost ? selector.selectEvery(routes, resolved.port())
                : selector.select(routes, resolved.port());
        List<MxRoute> probing = new ArrayList<>(selection.probes());
        try {
            TlsDemand demand = TlsDemand.of(envelope, text);
            if (demand == TlsDemand.RELAXED) {
                LOG.info("{}: TLS-Required: No (RFC 8689 §5): DANE and MTA-STS are not applied to its delivery to {}",
                        envelope.id(), domain);
            }
            TlsPolicies.ForDomain policies = demand == TlsDemand.RELAXED ? host -> new HostTls.Opportunistic()
                    : tlsPolicies.forDomain(new TlsPolicies.Destination(domain, resolved.relay().isPresent(),
                            resolved.relay().filter(NextHop.ByMx.class::isInstance).map(r -> ((NextHop.ByMx) r).domain())), routes);
            // (a relay written as a host was found by no MX lookup: DANE alone may authenticate it, as docs/tls-policy.md says)
            if (demand == TlsDemand.REQUIRED && routes.dnssec() == DnssecStatus.SECURE && requireTlsPkix.isPresent()
                    && resolved.relay().map(NextHop.ByMx.class::isInstance).orElse(true)) {
                policies = pkixWhereNoPolicyAuthenticates(policies, requireTlsPkix.get());
            }
            // RFC 8460 §4.3 reports sessions with the policy domain's own MX hosts under its policy: not those to a relay
            // host, nor those of mail that asked to go whatever the policy (TLS-Required: No; TLS reports themselves, §3).
            boolean reported = resolved.relay().isEmpty() && demand != TlsDemand.RELAXED;
            HostDecisions tls = new HostDecisions(domain, routes, policies, demand, reported);
            return deliver(envelope, text, recipients, resolved.hosts(domain), selection, probing, tls);
        } finally {
            probing.forEach(hostStatus::endProbe); // its result is recorded: others may connect, or wait for the retry time
        }
    }

    /**
     * What one destination's mail is sent to: the MX plan of the destination itself or of its relay
     * host, on the port to use; {@code relay} is the next hop when it is not the destination's own MX.
     */
    record Plan(MxOutcome outcome, int port, Optional<NextHop> relay) {
        /** "every {hosts}": the words for the hosts tried, for deferral reasons and logs. */
        String hosts(String domain) {
            return relay.map(r -> r instanceof NextHop.Host h && h.host().equals(domain) ? "address " + domain
                    : "address of the relay host " + r + " for " + domain).orElse("MX host of " + domain);
        }
    }

    private Plan plan(String domain) {
        return plan(resolver, routing, selector.port(), domain);
    }

    /** The plan of {@code domain}'s mail: its next hop by {@code routing}, else its own MX hosts, on {@code defaultPort} unless the hop names one. */
    static Plan plan(MxResolver resolver, NextHop.Routing routing, int defaultPort, String domain) {
        Optional<NextHop> hop = routing.nextHop(domain);
        if (hop.isEmpty() && domain.startsWith("[")) {
            return literalPlan(resolver, defaultPort, domain);
        }
        if (hop.isEmpty()) {
            return new Plan(resolver.resolve(domain), defaultPort, hop);
        }
        int port = hop.get().port().orElse(defaultPort);
        MxResolver hopResolver = port == defaultPort ? resolver : resolver.onOtherPort(port); // our listeners there, by address
        MxOutcome outcome;
        if (hop.get() instanceof NextHop.ByMx byMx) {
            outcome = hopResolver.resolve(byMx.domain());
        } else {
            NextHop.Host host = (NextHop.Host) hop.get();
            // (the destination may be an address literal itself: with a relay host, bob@[192.0.2.1] goes there too)
            outcome = host.literal().<MxOutcome>map(a -> new MxOutcome.Routes(literalOrDomain(domain), true,
                            List.of(new MxHost(0, host.host(), List.of(a), List.of())), List.of(), List.of()))
                    .orElseGet(() -> hopResolver.resolveHost(host.host()));
        }
        return new Plan(outcome, port, hop);
    }

    /**
     * Mail to an address literal ({@code bob@[192.0.2.1]}, RFC 5321 §4.1.3; a notice to such a
     * sender) goes to that address, without DNS, as a relay host written {@code [address]} does
     * (no MTA-STS or DANE, which need a name); one of this host's own addresses on the delivery
     * port loops (5.4.6), as Postfix's smtp finds itself.
     */
    private static Plan literalPlan(MxResolver resolver, int port, String domain) {
        java.net.InetAddress address = literalAddress(domain);
        MailDomain named = literalOrDomain(domain);
        if (resolver.policy().isLocal(address) || address.isAnyLocalAddress()) { // 0.0.0.0 and :: reach this host
            return new Plan(new MxOutcome.LoopsToSelf(named, domain, List.of(), List.of()), port, Optional.empty());
        }
        boolean v6 = address instanceof java.net.Inet6Address;
        dev.mxd.dns.AddressOrder order = resolver.policy().addressOrder();
        if (address.isMulticastAddress() || (v6 ? !order.wantsIpv6() : !order.wantsIpv4())) {
            String why = address.isMulticastAddress() ? "is a multicast address, which takes no connection"
                    : "is an IPv" + (v6 ? "6" : "4") + " address, and this host delivers over IPv" + (v6 ? "4" : "6") + " only (address-order)";
            throw new IllegalArgumentException(domain + " " + why); // failed as a bad destination (5.1.2)
        }
        NextHop.Host hop = new NextHop.Host(domain, Optional.of(address), java.util.OptionalInt.empty());
        return new Plan(new MxOutcome.Routes(named, true, List.of(new MxHost(0, domain, List.of(address), List.of())), List.of(), List.of()),
                port, Optional.of(hop));
    }

    /** The destination as a MailDomain: an address literal as it is written (no domain to parse), else the domain. */
    private static MailDomain literalOrDomain(String domain) {
        return domain.startsWith("[") ? new MailDomain(domain, domain.toLowerCase(java.util.Locale.ROOT)) : MailDomain.parse(domain);
    }

    /** The IP address of {@code [192.0.2.1]} or {@code [IPv6:2001:db8::1]}, never by DNS; anything else is refused. */
    static java.net.InetAddress literalAddress(String literal) {
        // Snum = 1*3DIGIT, decimal (RFC 5321 §4.1.3): 192.0.2.010 is 192.0.2.10, as the RCPT check took it
        return dev.mxd.smtp.PathParser.literalAddress(literal).orElseThrow(() -> new IllegalArgumentException(
                "'" + literal + "' is not an IPv4 or IPv6 address literal this host can deliver to"));
    }

    /** The domain the recipients go to: the agent serves one relay domain per call. */
    private static String domainOf(List<RecipientStatus> recipients) {
        Route route = recipients.get(0).recipient().route();
        if (!(route instanceof Route.Relay relay)) {
            throw new IllegalArgumentException(recipients.get(0).recipient().address() + " is not a remote recipient");
        }
        return relay.domain();
    }

    /**
     * RFC 8689 §4.2.1 for a REQUIRETLS message whose MX lookup was DNSSEC-secure: a host that DANE and MTA-STS leave
     * unauthenticated (no policy, TLSA records none of which is usable, an MTA-STS policy in testing mode) must present
     * a certificate that {@code pkix} accepts for its name. A host whose policy cannot be known now keeps that decision
     * (the message waits for it); so does one a policy keeps the mail from ({@link HostTls.Unusable}).
     */
    private static TlsPolicies.ForDomain pkixWhereNoPolicyAuthenticates(TlsPolicies.ForDomain policies, ServerAuthentication pkix) {
        return host -> {
            HostTls decision = policies.forHost(host);
            boolean unauthenticated = decision instanceof HostTls.Opportunistic o && !o.policyUnknown()
                    || decision instanceof HostTls.Encrypted || decision instanceof HostTls.Tested;
            return unauthenticated ? new HostTls.Authenticated(pkix, decision.policy()) : decision;
        };
    }

    /**
     * Whether a session under {@code decision} goes into the destination's TLS report: not one whose check is mxd's own
     * for a REQUIRETLS message (the PKIX check above), which is no policy of the domain's (RFC 8460 reports its policies).
     */
    private boolean reported(HostDecisions tls, HostTls decision) {
        return tls.reported && !(decision instanceof HostTls.Authenticated a && requireTlsPkix.filter(p -> p == a.authentication()).isPresent());
    }

    /** The TLS decision for each host of one delivery attempt, made once per host name. */
    private static final class HostDecisions {
        final String domain;
        final MxOutcome.Routes routes;
        final TlsPolicies.ForDomain policies;
        final TlsDemand demand;
        final boolean reported;
        final Map<String, HostTls> made = new HashMap<>();

        HostDecisions(String domain, MxOutcome.Routes routes, TlsPolicies.ForDomain policies, TlsDemand demand, boolean reported) {
            this.reported = reported;
            this.domain = domain;
            this.routes = routes;
            this.policies = policies;
            this.demand = demand;
        }

        HostTls forHost(String name) {
            return made.computeIfAbsent(name, n -> routes.hosts().stream().filter(h -> h.name().equals(n)).findFirst()
                    .map(policies::forHost).orElseGet(() -> new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE,
                            n + " is not in the MX plan the TLS policy was decided for", "validation-failure",
                            HostTls.ReportedPolicy.NONE)));
        }

        /**
         * Why a REQUIRETLS message may not go to this host (RFC 8689 §4.2.1): its TLS is not authenticated by
         * DANE or an enforced MTA-STS policy, or the MX lookup was neither DNSSEC-secure nor covered by the
         * MTA-STS policy. Empty for other mail, for a host that qualifies, and for a host a policy already
         * keeps the mail from ({@link HostTls.Unusable}: that decides on its own).
         */
        Optional<String> requireTlsRefusal(String name) {
            if (demand != TlsDemand.REQUIRED) {
                return Optional.empty();
            }
            HostTls decision = forHost(name);
            if (decision instanceof HostTls.Unusable) {
                return Optional.empty();
            }
            if (!(decision instanceof HostTls.Authenticated a)) {
                return Optional.of("REQUIRETLS (RFC 8689 §4.2.1): " + name + " is not authenticated by DANE or MTA-STS "
                        + "(its TLS would be " + (decision instanceof HostTls.Opportunistic ? "opportunistic" : "unauthenticated") + ")");
            }
            if (routes.dnssec() != DnssecStatus.SECURE && !a.policy().type().equals("sts")) {
                return Optional.of("REQUIRETLS (RFC 8689 §4.2.1): the MX lookup of " + domain
                        + " is not DNSSEC-secure and no MTA-STS policy covers " + name);
            }
            return Optional.empty();
        }
    }

    /**
     * What the sender asked of the delivery's TLS: REQUIRETLS (RFC 8689 §4.2.1), {@code TLS-Required: No}
     * (RFC 8689 §5: DANE and MTA-STS are not applied), or nothing (the TLS policies decide).
     */
    enum TlsDemand {
        NORMAL, REQUIRED, RELAXED;

        /**
         * The demand of a spooled message. REQUIRETLS on MAIL FROM wins over the header field, which RFC 8689
         * §4.1 says to ignore then; a header section that cannot be read counts as no field.
         */
        static TlsDemand of(Envelope envelope, Path text) {
            if (requiresTls(envelope)) {
                return REQUIRED;
            }
            try {
                return TlsRequiredField.saysNo(text) ? RELAXED : NORMAL;
            } catch (IOException e) {
                LOG.debug("{}: header section unreadable ({}); TLS-Required not looked at", envelope.id(), e.getMessage());
                return NORMAL;
            }
        }
    }

    private List<DeliveryResult> deliver(Envelope envelope, Path text, List<RecipientStatus> recipients, String hosts,
                                         RouteSelector.Selection selection, List<MxRoute> probing, HostDecisions tls) {
        if (selection.routes().isEmpty()) {
            Instant now = clock.instant();
            String why = selection.postponed().stream()
                    .map(s -> s.host() + "[" + AddressText.of(s.address().getAddress()) + "] "
                            + (s.postponedAt(now) ? "until " + s.retryAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                                    : "while another delivery probes it")
                            + " (" + s.lastError() + ")")
                    .collect(Collectors.joining("; "));
            // While another delivery probes one of them (its retry time has passed), the answer is seconds away: the message
            // comes back then, not at the time its age gives (up to an hour), so that when a primary is back the backup's
            // held mail follows the probe. Hosts still inside their retry time leave the message's own schedule alone: a
            // backlog for a dead host is not taken round at every host retry.
            Optional<Instant> retryBy = selection.postponed().stream().anyMatch(s -> !s.postponedAt(now))
                    ? Optional.of(now.plus(PROBE_RESULT)) : Optional.empty();
            return all(recipients, new DeliveryResult.Deferred(EnhancedStatus.NO_ANSWER,
                    "every " + hosts + " failed recently and is passed over: " + why, Optional.empty(), Optional.empty(), false,
                    Optional.empty(), retryBy));
        }
        OutboundEnvelope transaction;
        try {
            transaction = transaction(envelope, text, recipients);
        } catch (IOException e) {
            return all(recipients, DeliveryResult.Deferred.of(EnhancedStatus.LOCAL_ERROR, "cannot read the spooled message: " + e.getMessage()));
        } catch (IllegalArgumentException e) {
            // An envelope no SMTP command can carry would fail the same way at every attempt: the sender is told now,
            // rather than the message failing with a fault until its lifetime ends and then being held unannounced.
            // Nothing the server parses today makes one (checkPath takes every path PathParser does); an envelope from an
            // older spool could. The sender's own fault is 5.1.7, a recipient's 5.1.3.
            boolean senderFault = !OutboundEnvelope.carriable(envelope.sender().map(Mailbox::toString).orElse(""));
            return all(recipients, DeliveryResult.Failed.of(senderFault ? EnhancedStatus.BAD_SENDER_SYNTAX
                    : EnhancedStatus.BAD_DESTINATION_SYNTAX, "the envelope cannot be sent by SMTP: " + e.getMessage()));
        }
        String lastProblem = "no MX address answered";
        EnhancedStatus deferral = EnhancedStatus.NO_ANSWER;
        // The last failed session's refusal (421 4.7.0 at the greeting, a greylisting 451 to EHLO): the deferral keeps it,
        // so that the log, the queue listing and an expiry notice's Diagnostic-Code say what the server said.
        Optional<SmtpReply> lastReply = Optional.empty();
        Optional<String> lastRemote = Optional.empty();
        // REQUIRETLS (RFC 8689 §4.2.1): the hosts that could never take the message, and whether any other trouble,
        // which a later attempt may not meet, was met; only when every host was of the first kind is it returned.
        Optional<DeliveryResult.Failed> requireTlsFailure = Optional.empty();
        // A host passed over for now that could take it later is such trouble.
        boolean otherTrouble = selection.postponed().stream()
                .anyMatch(p -> tls.forHost(p.host()) instanceof HostTls.Authenticated && tls.requireTlsRefusal(p.host()).isEmpty());
        // Recipients an address could never take (no SMTPUTF8 for a non-ASCII address): failed, not retried.
        Map<Integer, DeliveryResult> settled = new HashMap<>();
        // What a server answered for each recipient, by its index in recipients, and the recipients still to try: a
        // recipient a server deferred (4yz to MAIL, RCPT, DATA or the final dot, 421, a connection lost before the final
        // dot) goes to the next address in this same attempt, as Postfix does, and keeps the server's reply should none
        // take it. One that may have been delivered (the reply to the final dot never came) is not sent elsewhere.
        DeliveryResult[] answered = new DeliveryResult[recipients.size()];
        List<Integer> pending = new ArrayList<>(IntStream.range(0, recipients.size()).boxed().toList());
        List<MxRoute> tries = new ArrayList<>(selection.routes());
        // A host found to be this one by its EHLO (behind a NAT): it and every host not better than it are not used
        // (RFC 5321 §5.1), as when the MX resolution finds this host by name or address.
        int loopAt = Integer.MAX_VALUE;
        // Addresses already tried in this attempt: another MX name on the same address (MX 10 mail.example.com and MX 20
        // example.com on one machine) is the same server, not a second connect timeout or a second greylisting. Only an
        // address that a host name's TLS policy kept the mail from is tried under another name (policy is per name).
        java.util.Set<java.net.InetSocketAddress> triedNow = new java.util.HashSet<>();
        // Whether every address tried so far refused EHLO and HELO with 5yz (RFC 5321 §4.2.1: permanent), and the last
        // such refusal: when no other host was passed over or failed otherwise, the recipients fail with it now, as
        // Postfix's "refused to talk to me" bounces, rather than being tried until their lifetime ends.
        Optional<Try> refusedHello = Optional.empty();
        boolean onlyHelloRefusals = true;
        for (int i = 0; i < tries.size(); i++) {
            if (cutShort) {
                // a stop cut this delivery short: no other address is opened (its connect and greeting could not be cut)
                lastProblem = "mxd is stopping; tried again when it starts";
                otherTrouble = true;
                onlyHelloRefusals = false; // the hosts not tried may take it
                break;
            }
            MxRoute route = tries.get(i);
            if (route.preference() >= loopAt || triedNow.contains(route.socketAddress())) {
                if (i == tries.size() - 1) {
                    lastResort(selection, tries, probing).ifPresent(tries::add);
                }
                continue;
            }
            HostTls decision = tls.forHost(route.host());
            Optional<String> refusal = tls.requireTlsRefusal(route.host());
            Try t;
            if (tls.demand == TlsDemand.REQUIRED && decision instanceof HostTls.Opportunistic o && o.policyUnknown()) {
                // The domain's policy cannot be known now (its MTA-STS policy could not be fetched): the message waits
                // for it rather than being returned as if the domain had none (RFC 8689 §4.2.1).
                String why = "REQUIRETLS: the MTA-STS policy of " + tls.domain + " cannot be read now; trying again later";
                LOG.warn("{}: not used for {}: {}", route, tls.domain, why);
                t = Try.refusedByPolicy(route + ": " + why, EnhancedStatus.SECURITY_TEMPORARY);
            } else if (refusal.isPresent()) {
                LOG.warn("{}: not used for {}: {}", route, tls.domain, refusal.get());
                t = Try.refusedByPolicy(route + ": " + refusal.get(), EnhancedStatus.ENCRYPTION_NEEDED);
            } else if (decision instanceof HostTls.Unusable unusable) {
                LOG.warn("{}: not used for {}: {}", route, tls.domain, LogText.safe(unusable.reason()));
                if (tls.reported) {
                    tell(() -> tlsResults.record(tls.domain, route.host(), route.address(), decision,
                            Optional.of(new TlsResults.Failure(unusable.resultType(), unusable.reason()))));
                }
                t = Try.refusedByPolicy(route + ": " + unusable.reason(), unusable.status());
            } else {
                t = attempt(route, transaction, settingsFor(decision), tls, decision, reported(tls, decision));
            }
            if (t.result().isPresent() && tls.demand == TlsDemand.REQUIRED && refusedForRequireTls(t.result().get())) {
                // The next hop does not offer REQUIRETLS: nothing was sent; another MX host may offer it.
                String why = route + " does not offer REQUIRETLS (RFC 8689 §4.2.1)";
                LOG.warn("{}: not used for {}: {}", route, tls.domain, why);
                t = Try.refusedByPolicy(why, EnhancedStatus.REQUIRETLS_NEEDED);
            }
            if (!t.tlsPolicy()) {
                triedNow.add(route.socketAddress());
            }
            if (t.helloRefused()) {
                refusedHello = Optional.of(t);
            } else {
                onlyHelloRefusals = false;
            }
            if (t.result().isPresent()) {
                List<RecipientOutcome> outcomes = t.result().get().recipients();
                List<Integer> still = new ArrayList<>();
                List<OutboundRecipient> again = new ArrayList<>();
                for (int j = 0; j < outcomes.size(); j++) {
                    int k = pending.get(j);
                    RecipientOutcome o = outcomes.get(j);
                    // An address that could never take it (no SMTPUTF8, a smaller SIZE: mxd's own finding) does not undo a
                    // server's deferral: that server may take it later; it stays deferred, and the next address may be tried.
                    boolean keepDeferral = o instanceof RecipientOutcome.Failed f && f.reply().isEmpty()
                            && answered[k] instanceof DeliveryResult.Deferred;
                    if (!keepDeferral) {
                        answered[k] = result(o, route, t.dsn());
                        settled.remove(k);
                    }
                    if (keepDeferral || o instanceof RecipientOutcome.Deferred d && !d.maybeDelivered()) {
                        still.add(k);
                        again.add(transaction.recipients().get(j));
                    }
                }
                if (still.isEmpty()) {
                    return List.of(answered);
                }
                LOG.info("{}: {} of {} recipient(s) deferred; trying the next address, if any", route, still.size(), pending.size());
                transaction = transaction.withRecipients(again);
                pending = still;
                otherTrouble = true;
            } else {
                List<Integer> sent = pending;
                t.settled().forEach((j, o) -> settled.put(sent.get(j), result(o, route, true)));
                lastProblem = t.problem();
                lastReply = t.reply();
                lastRemote = t.remoteMta();
                if (t.status().filter(EnhancedStatus.LOOP_FOR_NOW::equals).isPresent()) {
                    loopAt = Math.min(loopAt, route.preference());
                }
                if (t.status().filter(st -> !st.permanent()).isPresent()) {
                    deferral = t.status().get(); // a TLS policy kept the mail from this host: say so rather than "no answer"
                }
                if (t.status().filter(st -> st.equals(EnhancedStatus.ENCRYPTION_NEEDED) || st.equals(EnhancedStatus.REQUIRETLS_NEEDED))
                        .isPresent()) {
                    requireTlsFailure = Optional.of(DeliveryResult.Failed.of(t.status().get(), t.problem()));
                } else {
                    otherTrouble = true;
                }
            }
            if (i == tries.size() - 1) {
                lastResort(selection, tries, probing).ifPresent(tries::add); // nothing else is left
            }
        }
        if (cutShort && !onlyHelloRefusals) {
            // a stop closed the connection being opened (its connect or greeting): the stop is the reason, not the host
            lastProblem = "mxd is stopping; tried again when it starts";
        }
        if (requireTlsFailure.isPresent() && !otherTrouble) {
            // RFC 8689 §4.2.1, §5: no next hop can take the message as REQUIRETLS demands: it is returned.
            List<DeliveryResult> out = new ArrayList<>(all(recipients, DeliveryResult.Failed.of(requireTlsFailure.get().status(),
                    "no " + hosts + " meets REQUIRETLS: " + requireTlsFailure.get().detail())));
            settled.forEach(out::set);
            return out;
        }
        // Every address passed over (a failure inside its retry time) was tried as a last resort: none may take it later.
        boolean everyHostTried = selection.lastResort().stream().filter(tries::contains).count() >= selection.postponed().size();
        if (onlyHelloRefusals && refusedHello.isPresent() && everyHostTried) {
            Try t = refusedHello.get();
            SmtpReply reply = t.reply().get();
            EnhancedStatus status = reply.enhancedStatus().filter(EnhancedStatus::permanent)
                    .orElseGet(() -> EnhancedStatus.otherOfClass(reply.code()));
            List<DeliveryResult> out = new ArrayList<>(all(recipients, new DeliveryResult.Failed(status,
                    "every " + hosts + " refused this host's EHLO/HELO for good; the last, " + t.remoteMta().orElse("?")
                            + ", said " + reply.summary(), t.remoteMta(), t.reply())));
            settled.forEach(out::set);
            return out;
        }
        // The status stays mxd's (4.4.1, or the TLS policy's): a server's 421 4.7.0 "rate limited" is no TLS trouble, which
        // is what a 4.7.x status says when a REQUIRETLS message expires (5.7.10). The reply goes in the Diagnostic-Code.
        List<DeliveryResult> out = new ArrayList<>(all(recipients, new DeliveryResult.Deferred(deferral,
                "could not deliver to any " + hosts + ": " + lastProblem, lastRemote, lastReply, false, Optional.empty())));
        settled.forEach(out::set);
        for (int k = 0; k < answered.length; k++) {
            if (answered[k] != null) {
                // A server's deferral: it may take the recipient later, whatever a later address could not do (settled)
                out.set(k, answered[k]);
            }
        }
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

    /** Whether the transaction ended at MAIL with a 421 for every recipient: on a cached connection, the server's goodbye. */
    private static boolean closedWhileIdle(TransactionResult.Completed done) {
        return done.recipients().stream().allMatch(o -> o instanceof RecipientOutcome.Deferred d && d.stage() == SessionStage.MAIL
                && d.reply().filter(r -> r.code() == 421).isPresent());
    }

    /**
     * Whether {@code envelope} is held to REQUIRETLS (RFC 8689 §4.2.1), which binds a message whose return path is not
     * empty: mxd's own notice (from <>) of such a message, which carries its header only (DsnNotices), goes as other
     * mail does, not lost for want of DANE or MTA-STS at its sender's MX (most domains have neither); a client's mail
     * from <> with REQUIRETLS (another MTA's notice) keeps its demand.
     */
    static boolean requiresTls(Envelope envelope) {
        return envelope.parameters().requireTls() && (envelope.sender().isPresent() || envelope.kind() == Envelope.Kind.MAIL);
    }

    /** Whether the server refused the transaction's MAIL for good (its own reply, not one of ours before sending). */
    private static boolean mailRefusedOnReuse(TransactionResult.Completed done) {
        return done.recipients().stream().allMatch(o -> o instanceof RecipientOutcome.Failed f && f.stage() == SessionStage.MAIL
                && f.reply().filter(SmtpReply::permanentFailure).isPresent());
    }

    /** Whether the refused MAIL's enhanced status names the sender or a policy about it (X.1.x, X.7.x). */
    private static boolean aboutTheSender(TransactionResult.Completed done) {
        // without an enhanced status (no ENHANCEDSTATUSCODES) nothing says otherwise: the refusal stands, not a new
        // connection for every message of a refused sender's backlog
        return done.recipients().stream().allMatch(o -> o instanceof RecipientOutcome.Failed f && f.reply()
                .map(r -> r.enhancedStatus().map(st -> st.subject() == 1 || st.subject() == 7).orElse(true)).orElse(false));
    }

    /** Whether the connection refused every recipient, unsent, because the server does not offer REQUIRETLS. */
    private static boolean refusedForRequireTls(TransactionResult.Completed done) {
        return done.recipients().stream().allMatch(o -> o instanceof RecipientOutcome.Failed f
                && f.status().equals(EnhancedStatus.REQUIRETLS_NEEDED) && f.reply().isEmpty());
    }

    /** What one address did: the transaction's result, or why it could not take it. */
    private record Try(Optional<TransactionResult.Completed> result, String problem, Map<Integer, RecipientOutcome.Failed> settled,
                       Optional<EnhancedStatus> status, boolean dsn, Optional<SmtpReply> reply, Optional<String> remoteMta,
                       boolean tlsPolicy, boolean helloRefused) {
        Try(Optional<TransactionResult.Completed> result, String problem, Map<Integer, RecipientOutcome.Failed> settled,
            Optional<EnhancedStatus> status, boolean dsn) {
            this(result, problem, settled, status, dsn, Optional.empty(), Optional.empty(), false, false);
        }

        /** mxd is stopping: no session is opened, and the mail stays queued. */
        static Try stopping(MxRoute route) {
            return new Try(Optional.empty(), route + ": mxd is stopping", Map.of(), Optional.empty(), true);
        }

        /** This host name's TLS policy kept the mail from the address: another MX name on it may be allowed. */
        static Try refusedByPolicy(String problem, EnhancedStatus status) {
            return new Try(Optional.empty(), problem, Map.of(), Optional.of(status), true, Optional.empty(), Optional.empty(), true,
                    false);
        }

        Try(Optional<TransactionResult.Completed> result, String problem, Map<Integer, RecipientOutcome.Failed> settled,
            Optional<EnhancedStatus> status) {
            this(result, problem, settled, status, true);
        }

        Try(Optional<TransactionResult.Completed> result, String problem) {
            this(result, problem, Map.of(), Optional.empty());
        }

        /** A session that failed, with the server's reply when it gave one (421 at the greeting, 451 to EHLO). */
        static Try failed(MxRoute route, String problem, SessionFailure failure, Map<Integer, RecipientOutcome.Failed> settled,
                          Optional<EnhancedStatus> status) {
            Optional<SmtpReply> reply = failure.reply().filter(r -> !r.positive());
            return new Try(Optional.empty(), problem, settled, status, true, reply,
                    reply.isPresent() ? Optional.of(route.toString()) : Optional.empty(), false, failure.helloRefused());
        }
    }

    /** How many sessions of ours an address took when it turned one more away, and until when that is kept. */
    private record SessionCap(int sessions, long untilNanos) {}

    private final Map<java.net.InetSocketAddress, SessionCap> sessionCaps = new java.util.concurrent.ConcurrentHashMap<>();
    /** How long an address's session limit is kept; a later refusal sets it again. */
    static final java.time.Duration SESSION_CAP_KEPT = java.time.Duration.ofMinutes(1);
    /** How long a delivery waits for a session of ours to an address that limits them to come free. */
    static volatile java.time.Duration sessionWait = java.time.Duration.ofSeconds(30);

    /** A 421 (or another 4yz) greeting: the server is there and turns this session away for now (RFC 5321 §3.1). */
    private static boolean turnedAway(SessionFailure f) {
        return f.stage() == SessionStage.GREETING && f.reply().filter(r -> r.code() / 100 == 4).isPresent();
    }

    /** Sessions of ours to each address being opened now (connecting, waiting for the greeting, EHLO, STARTTLS). */
    private final Map<java.net.InetSocketAddress, java.util.concurrent.atomic.AtomicInteger> openingTo =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Sessions of ours to {@code address}: being opened, carrying mail now, or idle in the cache. */
    private int openSessions(java.net.InetSocketAddress address) {
        java.util.concurrent.atomic.AtomicInteger opening = openingTo.get(address);
        int n = connections.idle(address) + (opening == null ? 0 : opening.get());
        for (SmtpConnection c : sending) {
            if (c.target().equals(address)) {
                n++;
            }
        }
        return n;
    }

    /** The session limit {@code address} showed lately, while it is kept. */
    private Optional<SessionCap> sessionCap(java.net.InetSocketAddress address) {
        SessionCap cap = sessionCaps.get(address);
        if (cap != null && cap.untilNanos() - System.nanoTime() <= 0) {
            sessionCaps.remove(address, cap);
            return Optional.empty();
        }
        return Optional.ofNullable(cap);
    }

    /** How long after a 4yz greeting with none of ours open the session is tried once more. */
    static final java.time.Duration SESSION_END_LAG = java.time.Duration.ofSeconds(1);

    /** Sleeps {@code d} unless mxd is stopping; whether it slept all of it. */
    private boolean pause(java.time.Duration d) {
        if (cutShort) {
            return false;
        }
        try {
            Thread.sleep(d.toMillis());
            return !cutShort;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** What a wait for a session of ours came to. */
    private enum Waited { FOUND, ROOM, TIMED_OUT, STOPPED }

    private record SessionWait(Waited outcome, Optional<SmtpConnection> connection) {}

    /**
     * Waits until {@code deadline} for an idle session of ours to {@code route} that {@code fits} (FOUND), or for fewer
     * than {@code cap} of ours to be open to it (ROOM: one may be opened). Idle sessions that do not fit are left for
     * others.
     */
    private SessionWait awaitSession(MxRoute route, java.util.function.Predicate<SmtpConnection> fits, int cap, long deadline) {
        while (true) {
            Optional<SmtpConnection> c = connections.takeLeavingOthers(route.socketAddress(), fits);
            if (c.isPresent()) {
                return new SessionWait(Waited.FOUND, c);
            }
            if (openSessions(route.socketAddress()) < cap) {
                return new SessionWait(Waited.ROOM, Optional.empty());
            }
            if (cutShort) {
                return new SessionWait(Waited.STOPPED, Optional.empty());
            }
            if (deadline - System.nanoTime() <= 0) {
                return new SessionWait(Waited.TIMED_OUT, Optional.empty());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new SessionWait(Waited.STOPPED, Optional.empty());
            }
        }
    }

    /** The client settings a host's TLS decision asks for. */
    private ClientSettings settingsFor(HostTls decision) {
        if (decision instanceof HostTls.Authenticated a) {
            return client.withTls(TlsPolicy.REQUIRE).withAuthentication(Optional.of(a.authentication()));
        }
        if (decision instanceof HostTls.Encrypted) {
            return client.withTls(TlsPolicy.REQUIRE);
        }
        if (decision instanceof HostTls.Tested t) {
            return client.withAuthentication(Optional.of(t.authentication()));
        }
        return client;
    }

    @Override
    public void cutShort() {
        cutShort = true;
        for (SmtpConnection c : sending) {
            c.abort(); // a read waiting on the next hop ends now: deferred as a broken connection, "maybe delivered" after the dot
        }
        for (java.net.Socket s : opening) {
            closeQuietly(s); // a connect or a greeting waited for ends now: deferred, as the stop says
        }
    }

    /** {@link #open}, the connection's socket known to {@link #cutShort} until it is open (or has failed to open). */
    private OpenResult openCuttable(MxRoute route, ClientSettings settings) {
        java.net.Socket[] mine = new java.net.Socket[1];
        try {
            return open(route, settings, selector.port(), s -> {
                mine[0] = s;
                opening.add(s);
                if (cutShort) {
                    closeQuietly(s); // the stop came between the check before this address and here
                }
            });
        } finally {
            if (mine[0] != null) {
                opening.remove(mine[0]);
            }
        }
    }

    private static void closeQuietly(java.net.Socket s) {
        try {
            s.close();
        } catch (java.io.IOException ignored) {
            // closing is all that is asked: the thread waiting on it sees the socket closed
        }
    }

    /** One address: a cached or new connection, then the transaction. */
    private Try attempt(MxRoute route, OutboundEnvelope transaction, ClientSettings settings, HostDecisions tls, HostTls decision,
                        boolean report) {
        return attempt(route, transaction, settings, tls, decision, report, System.nanoTime() + sessionWait.toNanos(), false);
    }

    /**
     * As above; {@code waitUntil}: until when this delivery may wait for a session of ours to a host that limits them
     * to come free (one deadline for the delivery, its retries on another session included); {@code lagTried}: the
     * session was tried once more already after a 4yz greeting with none of ours open.
     */
    private Try attempt(MxRoute route, OutboundEnvelope transaction, ClientSettings settings, HostDecisions tls, HostTls decision,
                        boolean report, long waitUntil, boolean lagTried) {
        String domain = tls.domain;
        // A cached connection is of use only if it has what this decision asks for: TLS when TLS is required, and a
        // certificate authenticated for this very host name (another MX name on the same address has other TLSA records).
        boolean encrypt = settings.tls() == TlsPolicy.REQUIRE;
        boolean authenticate = encrypt && settings.authentication().isPresent();
        java.util.function.Predicate<SmtpConnection> fits = c -> (!encrypt || c.tlsProtocol().isPresent())
                && (!authenticate || c.host().equals(route.host())
                && c.authenticationMethod().equals(settings.authentication().map(ServerAuthentication::method)));
        java.net.InetSocketAddress address = route.socketAddress();
        SmtpConnection connection = connections.take(address, fits).orElse(null);
        if (connection == null) {
            Optional<SessionCap> cap = sessionCap(address);
            if (cap.isPresent() && openSessions(address) >= cap.get().sessions()) {
                SessionWait w = awaitSession(route, fits, cap.get().sessions(), waitUntil);
                if (w.connection().isPresent()) {
                    connection = w.connection().get();
                } else if (w.outcome() == Waited.TIMED_OUT) {
                    // every session it takes from us stayed busy: the message waits its turn in the queue, the host is not
                    // blamed (it is serving ours)
                    return new Try(Optional.empty(), route + ": takes " + cap.get().sessions() + " session(s) from us at a time,"
                            + " all busy for " + sessionWait.toSeconds() + " s");
                }
            }
        }
        boolean cached = connection != null;
        if (connection == null) {
            if (cutShort) { // a retry after an aborted cached connection, or the plain-text retry: not opened at a stop
                return Try.stopping(route);
            }
            OpenResult opened;
            java.util.concurrent.atomic.AtomicInteger mine = openingTo.computeIfAbsent(address,
                    a -> new java.util.concurrent.atomic.AtomicInteger());
            mine.incrementAndGet();
            try {
                opened = openCuttable(route, settings);
            } finally {
                if (mine.decrementAndGet() == 0) {
                    openingTo.remove(address, mine);
                }
            }
            boolean turnedAway = opened instanceof OpenResult.Failed f && turnedAway(f.failure());
            int open = turnedAway ? openSessions(address) : 0;
            if (turnedAway && open == 0 && !lagTried && pause(SESSION_END_LAG)) {
                // None of ours is open, but the server may not have seen our last session end yet (it counts a session
                // until its own process or thread is done with it): one more try, a moment later, before the host is
                // taken for in trouble.
                return attempt(route, transaction, settings, tls, decision, report, waitUntil, true);
            }
            if (open > 0) {
                // A session beyond those of ours it is serving (or opening) turned away (Postfix's
                // smtpd_client_connection_count_limit says 421 at the greeting): the host is up and limits how many
                // sessions one client has, which is no reason to pass it over (every message then waited out the host's
                // retry time). This delivery waits for one of ours to come free, and the next ones do not open more than
                // it took while the limit is known. None free within the wait: the host is in trouble after all.
                SessionFailure refused = ((OpenResult.Failed) opened).failure();
                long now = System.nanoTime();
                if (sessionCaps.size() >= 10_000) {
                    sessionCaps.values().removeIf(c -> c.untilNanos() - now <= 0); // kept a minute each: old ones go
                }
                sessionCaps.put(address, new SessionCap(open, now + SESSION_CAP_KEPT.toNanos()));
                LOG.info("{}: {}, with {} session(s) of ours open to it; waiting for one of them", route,
                        LogText.safe(refused.detail()), open);
                SessionWait w = awaitSession(route, fits, open, waitUntil);
                if (w.connection().isPresent()) {
                    connection = w.connection().get();
                    cached = true;
                } else if (w.outcome() == Waited.ROOM) {
                    // one more session may be opened (within the same deadline)
                    return attempt(route, transaction, settings, tls, decision, report, waitUntil, lagTried);
                } else if (w.outcome() == Waited.STOPPED) {
                    return Try.stopping(route);
                } else {
                    return Try.failed(route, noteFailure(route, refused), refused, Map.of(), Optional.empty());
                }
            } else if (opened instanceof OpenResult.Failed f) {
                if (report) {
                    recordTls(domain, route, decision, f.failure());
                }
                if (settings.tls() == TlsPolicy.REQUIRE && f.failure().stage().compareTo(SessionStage.STARTTLS) >= 0
                        && f.failure().stage().compareTo(SessionStage.RSET) < 0) {
                    // RFC 7672 §2.2, RFC 8461 §4.2: TLS the policy requires could not be set up: this host defers, the next is tried.
                    // A policy finding (no STARTTLS, a certificate that does not authenticate, a handshake opportunistic
                    // mail would give up for plain text) does not postpone the address: another domain's mail goes through
                    // it. A host that hangs, closes or answers 421 at this stage is in trouble for everyone, and is postponed.
                    return hostTrouble(f.failure()) ? new Try(Optional.empty(), noteFailure(route, f.failure()))
                            : Try.refusedByPolicy(notePolicyFailure(route, f.failure()), EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
                }
                return retryWithoutTlsOrFail(route, transaction, settings, f.failure(), tls, decision);
            } else {
                connection = ((OpenResult.Ready) opened).connection();
                if (report) {
                    recordTls(domain, route, decision, connection);
                }
                // As Postfix logs it: a session over TLS reads otherwise as one in plain text
                SmtpConnection secured = connection;
                connection.tlsSummary().ifPresent(t -> LOG.info("{} TLS connection established to {}: {}",
                        secured.authenticated().isPresent() ? "Verified" : "Untrusted", route, t));
            }
        }
        TransactionResult result;
        sending.add(connection);
        try {
            if (cutShort) {
                connection.abort(); // cut short between the check in deliver and here: this one ends at once too
            }
            result = connection.send(transaction);
        } finally {
            sending.remove(connection);
        }
        if (!(result instanceof TransactionResult.Completed done)) {
            TransactionResult.Failed f = (TransactionResult.Failed) result;
            connection.close();
            if (cached) {
                // The server may have closed an idle cached connection: that says nothing about the host.
                LOG.debug("{}: cached connection unusable ({}); opening a new one", route, LogText.safe(f.failure().detail()));
                return attempt(route, transaction, settings, tls, decision, report, waitUntil, lagTried);
            }
            return Try.failed(route, noteFailure(route, f.failure()), f.failure(), f.settled(), Optional.empty());
        }
        if (cached && (closedWhileIdle(done) || mailRefusedOnReuse(done) && (!connection.resetAnswered() || !aboutTheSender(done)))) {
            // A 421 that the server sent while the connection sat in the cache (its idle timeout, a limit of messages
            // a session), read as the reply to MAIL: nothing about the host either. A 5yz to MAIL on a reused session
            // may be such a limit too ("too many messages this session", then a hang-up, which without PIPELINING only
            // a RSET shows, or not): a fresh connection decides for the message. A refusal of the sender (X.1.x, X.7.x:
            // a bad sender domain, SPF) by a server still answering RSET stands, and the connection stays in use.
            connection.close();
            LOG.debug("{}: cached connection refused the next message at MAIL; opening a new one", route);
            return attempt(route, transaction, settings, tls, decision, report, waitUntil, lagTried);
        }
        Optional<RecipientOutcome.Deferred> unanswered = done.recipients().stream()
                .filter(o -> o instanceof RecipientOutcome.Deferred d && d.maybeDelivered())
                .map(RecipientOutcome.Deferred.class::cast).findFirst();
        if (unanswered.isPresent()) {
            // No reply to the final dot (a timeout, or the connection lost after it): the host is passed over until its
            // retry time, as for a timeout earlier in the transaction (noteFailure), so that the next messages are not
            // sent to it whole again, each a possible duplicate (RFC 1047).
            HostStatusTable.Status s = hostStatus.failed(route, unanswered.get().detail());
            LOG.warn("{}: {}; passed over until {}", route, LogText.safe(unanswered.get().detail()), s.retryAt());
        } else {
            hostStatus.succeeded(route);
        }
        boolean dsn = connection.offersDsn();
        connections.release(route.socketAddress(), connection);
        return new Try(Optional.of(done), "", Map.of(), Optional.empty(), dsn);
    }

    /**
     * A session with {@code route}: on {@code deliveryPort}, the port this host takes mail on, one whose server answers
     * EHLO with our own name fails as a loop (this host behind a NAT); on another port a server is another MTA.
     */
    static OpenResult open(MxRoute route, ClientSettings settings, int deliveryPort) {
        return open(route, settings, deliveryPort, s -> { });
    }

    private static OpenResult open(MxRoute route, ClientSettings settings, int deliveryPort,
                                   java.util.function.Consumer<java.net.Socket> opening) {
        return SmtpConnection.open(route.socketAddress(), route.host(), settings, route.port() == deliveryPort, opening);
    }

    private Try retryWithoutTlsOrFail(MxRoute route, OutboundEnvelope transaction, ClientSettings settings,
                                      SessionFailure failure, HostDecisions tls, HostTls decision) {
        if (failure.tlsFailed() && settings.tls() == TlsPolicy.OPPORTUNISTIC) {
            LOG.info("{}: TLS handshake failed ({}); trying again without TLS", route, LogText.safe(failure.detail()));
            // The failed handshake was told already; the plain-text session after it is not another TLS outcome.
            return attempt(route, transaction, settings.withTls(TlsPolicy.NONE).withAuthentication(Optional.empty()), tls, decision,
                    false, System.nanoTime() + sessionWait.toNanos(), false);
        }
        if (failure.cause() == SessionFailure.Cause.LOOP) {
            return new Try(Optional.empty(), noteFailure(route, failure), Map.of(), Optional.of(EnhancedStatus.LOOP_FOR_NOW));
        }
        return Try.failed(route, noteFailure(route, failure), failure, Map.of(), Optional.empty());
    }

    /** Tells {@link #tlsResults} how TLS went on a session that failed to open, when TLS was the trouble. */
    private void recordTls(String domain, MxRoute route, HostTls decision, SessionFailure failure) {
        String type;
        if (failure.tlsResult().isPresent()) {
            type = failure.tlsResult().get();
        } else if (failure.stage() == SessionStage.STARTTLS) {
            type = "starttls-not-supported";
        } else if (failure.stage() == SessionStage.TLS_HANDSHAKE) {
            type = "validation-failure";
        } else {
            return; // not a TLS matter: the host did not answer, or refused the session before STARTTLS
        }
        tell(() -> tlsResults.record(domain, route.host(), route.address(), decision,
                Optional.of(new TlsResults.Failure(type, failure.detail()))));
    }

    /** Tells {@link #tlsResults} how TLS went on a session that opened. */
    private void recordTls(String domain, MxRoute route, HostTls decision, SmtpConnection connection) {
        Optional<TlsResults.Failure> failure = Optional.empty();
        if (decision instanceof HostTls.Opportunistic o && o.policyFailure().isPresent()) {
            failure = o.policyFailure(); // the policy that could not be read is this session's failure (RFC 8461 §6)
        } else if (connection.tlsProtocol().isEmpty()) {
            failure = Optional.of(new TlsResults.Failure("starttls-not-supported", connection + " carries the mail without TLS"));
        } else if (connection.unauthenticated().isPresent()) {
            ServerAuthentication.Rejected r = connection.unauthenticated().get();
            failure = Optional.of(new TlsResults.Failure(r.resultType(), r.getMessage()));
        }
        Optional<TlsResults.Failure> told = failure;
        tell(() -> tlsResults.opened(domain, route.host(), route.address(), decision, told,
                new TlsResults.Session(connection.tlsProtocol(), connection.authenticated())));
    }

    /**
     * Tells {@link #tlsResults} something: reporting is a side matter, so whatever goes wrong in it is logged and
     * never stops, defers or loses the mail being delivered.
     */
    private void tell(Runnable report) {
        try {
            report.run();
        } catch (RuntimeException e) {
            LOG.error("TLS results could not be recorded (the delivery goes on): {}", e.toString(), e);
        }
    }

    /**
     * A failure that says the host is in trouble, whatever the mail's TLS policy: it hangs, closes or answers 421 at
     * STARTTLS. A failed handshake is not (opportunistic mail gives it up for plain text and does not postpone the host).
     */
    private static boolean hostTrouble(SessionFailure f) {
        if (f.tlsFailed()) {
            return false;
        }
        return switch (f.cause()) {
            case TIMEOUT, CLOSED, REFUSED, UNREACHABLE -> true;
            default -> f.reply().filter(r -> r.code() == 421).isPresent();
        };
    }

    /** A failure to meet this domain's TLS policy: logged, and the address left for other domains' mail. */
    private static String notePolicyFailure(MxRoute route, SessionFailure failure) {
        LOG.warn("{}: {} ({}); not used for this domain's mail", route, LogText.safe(failure.detail()), failure.code());
        return route + ": " + failure.detail();
    }

    /**
     * Connection-level failures postpone the address, and so does a server that stops answering in a transaction (a
     * timeout at MAIL, RCPT, DATA, in the text or after its final dot), as Postfix throttles a destination on a timed-out
     * conversation: each message to it held a delivery worker for the whole timeout, a few such hosts held every worker
     * (mail to every other domain waited minutes, at every retry round), and one that never answers the final dot was
     * sent each message in full again and again, each a possible duplicate (RFC 1047). A transaction the server breaks
     * off or refuses says nothing about the host, and neither does a source address this host cannot bind (the mail is
     * deferred, the host not blamed).
     */
    private String noteFailure(MxRoute route, SessionFailure failure) {
        String what = failure.detail();
        boolean hung = failure.cause() == SessionFailure.Cause.TIMEOUT;
        // A loop is not postponed: passed over, it would be missing from the next attempt, which then sent the mail to the
        // hosts not better than it (RFC 5321 §5.1); tried again, it is found to be this host again and they are dropped.
        // Nor is a host that refused EHLO and HELO for good (5yz): it is not down, and the mail it refuses fails now (a
        // postponed host would keep other messages waiting for a probe that can only get the same refusal), as Postfix
        // throttles a destination for soft errors only.
        if ((failure.stage().compareTo(SessionStage.RSET) < 0 || hung) && failure.cause() != SessionFailure.Cause.LOCAL
                && failure.cause() != SessionFailure.Cause.LOOP && !failure.helloRefused()) {
            HostStatusTable.Status s = hostStatus.failed(route, what);
            LOG.warn("{}: {} ({}); passed over until {}", route, LogText.safe(what), failure.code(), s.retryAt());
        } else {
            LOG.warn("{}: {} ({})", route, LogText.safe(what), failure.code());
        }
        return route + ": " + what;
    }

    /**
     * One recipient's result from what the server (or mxd, for it) decided in the transaction;
     * {@code dsn}: the server announced DSN, so it took the recipient's NOTIFY on.
     */
    private static DeliveryResult result(RecipientOutcome o, MxRoute route, boolean dsn) {
        Optional<String> mta = Optional.of(route.toString());
        if (o instanceof RecipientOutcome.Accepted a) {
            return new DeliveryResult.Delivered(a.status(), a.detail(), mta, Optional.of(a.finalReply()), !dsn);
        }
        if (o instanceof RecipientOutcome.Failed f) {
            return new DeliveryResult.Failed(f.status(), f.detail(), mta, f.reply());
        }
        RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) o;
        // A 2yz to DATA is no refusal: that deferral is mxd's own decision, not the server's.
        Optional<SmtpReply> reply = d.reply().filter(r -> !r.positive());
        return new DeliveryResult.Deferred(d.status(), d.detail(), mta, reply, d.maybeDelivered(), Optional.empty());
    }

    private static List<DeliveryResult> all(List<RecipientStatus> recipients, DeliveryResult result) {
        return Collections.nCopies(recipients.size(), result);
    }

    private static OutboundEnvelope transaction(Envelope e, Path text, List<RecipientStatus> recipients) throws IOException {
        List<OutboundRecipient> rcpts = new ArrayList<>();
        for (RecipientStatus r : recipients) {
            RcptParameters dsn = r.recipient().dsn();
            // "type;address" as the client gave it (RFC 3461 §4.2); it goes on with its own type.
            Optional<String> orcpt = dsn.orcpt().map(o -> o.indexOf(';') > 0 ? o.substring(o.indexOf(';') + 1) : o);
            String type = dsn.orcpt().filter(o -> o.indexOf(';') > 0).map(o -> o.substring(0, o.indexOf(';'))).orElse("rfc822");
            rcpts.add(new OutboundRecipient(r.recipient().address().toString(), dsn.notifyOn(), orcpt, type));
        }
        MailParameters p = e.parameters();
        return new OutboundEnvelope(e.sender().map(Mailbox::toString).orElse(""), rcpts,
                p.body() == MailParameters.Body.EIGHT_BIT_MIME, p.smtputf8(),
                p.ret(), p.envid(), MessageContent.of(text, e.size()), requiresTls(e));
    }
}
