package dev.mxd.node;

import dev.mxd.config.Delivery;
import dev.mxd.config.DomainConfig;
import dev.mxd.config.HostPort;
import dev.mxd.config.MxdConfig;
import dev.mxd.config.RelayHost;
import dev.mxd.delivery.ConnectionCache;
import dev.mxd.delivery.DsnNotices;
import dev.mxd.delivery.DsnWriter;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.delivery.LocalDeliveryAgent;
import dev.mxd.delivery.Maildir;
import dev.mxd.delivery.RecipientCallout;
import dev.mxd.delivery.VerificationCache;
import dev.mxd.mail.RecipientVerifier;
import dev.mxd.delivery.NextHop;
import dev.mxd.delivery.RemoteDeliveryAgent;
import dev.mxd.delivery.RouteSelector;
import dev.mxd.dns.DnsClient;
import dev.mxd.tls.MtaSts;
import dev.mxd.tls.TlsPolicies;
import dev.mxd.tls.TlsResults;
import dev.mxd.tls.TlsReportCounts;
import dev.mxd.tls.WebPki;
import dev.mxd.delivery.DkimSigner;
import dev.mxd.delivery.TlsReportSender;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.filter.FilterChain;
import dev.mxd.filter.FilteringStore;
import dev.mxd.filter.Quarantine;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.ops.AdminServer;
import dev.mxd.ops.Metrics;
import dev.mxd.ops.RecentEvents;
import dev.mxd.queue.QueueManager;
import dev.mxd.queue.RetryPolicy;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.mail.MessageStore;
import dev.mxd.smtp.server.ClientNameLookup;
import dev.mxd.smtp.server.SmtpServer;
import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigProblem;
import dev.mxd.config.ConfigLoader;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.server.ServerCertificate;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mxd put together, in the order mail flows: SMTP server → recipient policy → spool →
 * queue manager → local Maildir delivery or remote delivery by MX, with bounces back into
 * the spool. {@code mxd serve} runs one; tests start one in-process.
 */
public final class ReceivingMx implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReceivingMx.class);
    /** The most a recipient verification (callout) holds a client's RCPT. */
    private static final Duration CALLOUT_LIMIT = Duration.ofSeconds(10);
    /**
     * How long after it was initiated an outbound connection may still be reused; no limit on the
     * messages it carries (Postfix's defaults: 300 s and 0). A count limit made a busy route open
     * a connection every few hundred milliseconds, and what each one allocated, kept for seconds,
     * ended in the old generation of the heap.
     */
    private static final Duration REUSE_TIME_LIMIT = Duration.ofSeconds(300);

    private volatile MxdConfig config;
    private final Spool spool;
    private final QueueManager queue;
    private final RemoteDeliveryAgent remote;
    private final ConnectionCache connections;
    private final SmtpServer server;
    private final Operations ops;
    private final Reloadable live;
    private final RecipientCallout callout;
    private final AutoCloseable dnssecRecheck;
    private final TlsReports tlsReports;
    private final DataDirLock lock;

    private ReceivingMx(MxdConfig config, Spool spool, QueueManager queue, RemoteDeliveryAgent remote,
                        ConnectionCache connections, SmtpServer server, Operations ops, Reloadable live, RecipientCallout callout,
                        AutoCloseable dnssecRecheck, TlsReports tlsReports, DataDirLock lock) {
        this.lock = lock;
        this.dnssecRecheck = dnssecRecheck;
        this.tlsReports = tlsReports;
        this.live = live;
        this.callout = callout;
        this.config = config;
        this.spool = spool;
        this.queue = queue;
        this.remote = remote;
        this.connections = connections;
        this.server = server;
        this.ops = ops;
    }

    /** Recovers the spool, starts delivering what it holds, then opens the SMTP listeners. */
    public static ReceivingMx start(MxdConfig config) throws IOException {
        return start(config, TlsResults.NONE);
    }

    /**
     * The addresses at which this server takes the mail it would send on {@code port}: its SMTP
     * listeners on that port, every address of this host's interfaces for a listener on the wildcard
     * address (Postfix's {@code inet_interfaces = all}) and that wildcard address itself, which makes the
     * whole loopback range this host too. An MX with one of them is this host under
     * another name, and mail sent there would come back (RFC 5321 §5.1). None when no listener is on
     * the port mxd delivers to (another server there is not this one).
     */
    static Set<InetAddress> selfAddresses(List<HostPort> listeners, int port) {
        Set<InetAddress> out = new HashSet<>();
        for (HostPort l : listeners) {
            if (l.port() != port) {
                continue;
            }
            out.add(l.address()); // a wildcard one too: it stands for the addresses no interface lists (MxPolicy.isLocal)
            if (!l.address().isAnyLocalAddress()) {
                continue;
            }
            try {
                for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    for (InetAddress a : Collections.list(n.getInetAddresses())) {
                        if (l.address() instanceof Inet4Address && !(a instanceof Inet4Address) && Boolean.getBoolean("java.net.preferIPv4Stack")) {
                            continue; // 0.0.0.0 on IPv4 sockets takes IPv4 only; the JVM's usual socket is dual-stack, so it takes both
                        }
                        out.add(a instanceof Inet6Address v6 && v6.getScopeId() != 0
                                ? InetAddress.getByAddress(v6.getAddress()) : a); // as DNS gives it: no scope
                    }
                }
            } catch (IOException e) {
                LOG.warn("cannot list this host's addresses ({}); an MX pointing at one of them under another name is not noticed",
                        e.toString());
            }
        }
        return out;
    }

    /** {@link #selfAddresses} for each port this server listens on other than {@code deliveryPort}: a relay host there is this server. */
    static Map<Integer, Set<InetAddress>> otherPortAddresses(List<HostPort> listeners, int deliveryPort) {
        Map<Integer, Set<InetAddress>> out = new java.util.HashMap<>();
        for (HostPort l : listeners) {
            if (l.port() != deliveryPort) {
                out.computeIfAbsent(l.port(), p -> selfAddresses(listeners, p));
            }
        }
        return out;
    }

    /**
     * As {@link #start(MxdConfig)}, and tells {@code tlsListener} too the TLS outcome of every session the node's
     * delivery opens (after the node's own results sink): {@code mxd demo --secure} prints them.
     */
    public static ReceivingMx start(MxdConfig config, TlsResults tlsListener) throws IOException {
        Clock clock = Clock.systemUTC();
        Path data = config.dataDir();
        Delivery d = config.delivery();
        // Before anything is opened: a Maildir owner that cannot work here is a configuration error.
        Maildir.Ownership ownership = Maildir.Ownership.of(d.maildirOwner(), d.maildirGroup());
        ClientSettings.checkSourceAddresses(d.sourceAddresses()); // so is a source address this host does not have
        DataDirLock lock = DataDirLock.acquire(data); // before the spool's recovery touches anything
        try {
            return start(config, tlsListener, clock, data, d, ownership, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static ReceivingMx start(MxdConfig config, TlsResults tlsListener, Clock clock, Path data, Delivery d,
                                     Maildir.Ownership ownership, DataDirLock lock) throws IOException {
        Spool spool = Spool.open(data.resolve("spool"), config.hostname(), clock);
        Metrics metrics = new Metrics(clock);
        Reloadable live = new Reloadable(config, spool, metrics, clock);
        RecipientPolicy policy = live.policy;

        List<String> localNames = new ArrayList<>(config.localNames());
        localNames.add(config.hostname());
        // without dns.servers, the system's resolver file, followed when it changes (a DHCP lease, a VPN)
        DnsClient dns = config.dnsServers().isEmpty() ? new DnsClient(dnsSettings(config), DnsClient.ServerSource.resolvConf())
                : new DnsClient(dnsSettings(config));
        MxResolver resolver = new MxResolver(dns, MxPolicy.defaults().withLocalNames(localNames)
                .withLocalAddresses(selfAddresses(config.smtpListeners(), d.port())))
                .withListenersOnOtherPorts(otherPortAddresses(config.smtpListeners(), d.port()));
        HostStatusTable hosts = new HostStatusTable(d.hostRetry().first(), d.hostRetry().max(), 10_000, InstantSource.system());
        ClientSettings client = ClientSettings.defaults(config.hostname()).withTimeouts(ClientSettings.Timeouts.rfc5321()
                .withCommand(d.commandTimeout()).withConnect(d.connectTimeout()).withGreeting(d.greetingTimeout()))
                .withSourceAddresses(d.sourceAddresses());
        // Postfix's smtp_connection_cache_time_limit is 2s; a busy destination keeps its connections warm.
        ConnectionCache connections = new ConnectionCache(Duration.ofSeconds(2), REUSE_TIME_LIMIT, 0, d.concurrencyPerDestination());
        NextHop.Routing routing = domain -> live.config.delivery().nextHopFor(domain).map(ReceivingMx::nextHop); // follows reloads
        // The TLS each MX host must use (docs/tls-policy.md), in order of precedence: DANE, then MTA-STS;
        // opportunistic STARTTLS where neither applies. Each session's TLS outcome goes to tlsResults (TLS-RPT).
        List<TlsPolicies> tlsOrder = new ArrayList<>();
        // (DANE) RFC 7672, on secure MX hosts while DNSSEC validation is on (DanePolicies asks per domain)
        if (d.tls().dane()) {
            tlsOrder.add(dev.mxd.tls.DanePolicies.of(new dev.mxd.dns.TlsaLookup(dns)));
        }
        // The Web PKI (delivery.tls.ca-file, else the JDK's trust store): MTA-STS's, and REQUIRETLS's on a secure MX host
        // that neither policy authenticates (RFC 8689 §4.2.1)
        WebPki pki = WebPki.of(d.tls().caFile());
        if (d.tls().mtaSts()) { // (MTA-STS)
            tlsOrder.add(MtaSts.start(dns, data.resolve("mta-sts"), pki, clock));
        }
        // TLS-RPT (delivery.tls.reports): counted per policy domain and day in DATA-DIR/tls-reports, sent after each day.
        TlsReports tlsReports = TlsReports.open(config, data, clock);
        TlsResults tlsResults = tlsReports.counts().map(TlsResults.class::cast).orElse(TlsResults.NONE);
        tlsResults = tlsResults.and(tlsListener); // what the demo's timeline shows
        RemoteDeliveryAgent remote = new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, d.maxAddresses(), d.port()),
                hosts, client, connections, clock, routing, TlsPolicies.inOrder(tlsOrder), tlsResults,
                Optional.of(pki.requireTlsAuthentication()));
        // Backup domains with verify: callout ask the better MX hosts remote delivery would use, through the same
        // MX plan and next hop; the answers outlive reloads. CALLOUT_LIMIT keeps a client's RCPT short.
        RecipientCallout callout = new RecipientCallout(resolver, new RouteSelector(hosts, d.maxAddresses(), d.port()), routing, client,
                VerificationCache.persistent(100_000, clock, data.resolve("verify-cache"), routingKey(d)), CALLOUT_LIMIT, 8);
        live.verifyWith(callout);
        LocalDeliveryAgent local = new LocalDeliveryAgent(new Maildir(data.resolve("mail"), config.hostname(), clock, ownership),
                live::hasMailbox);
        DsnNotices notices = new DsnNotices(config.hostname(), spool, live::routeLocalMail, () -> live.current.noticePostmaster(),
                new DsnWriter(), clock);
        QueueManager queue = new QueueManager(spool, new QueueManager.Settings(d.concurrency(), d.concurrencyPerDestination(),
                new RetryPolicy(d.retry().first(), d.retry().max(), d.retry().giveUp()), d.scanInterval(), 10_000),
                local, remote, notices, clock);
        RecentEvents recent = new RecentEvents(200);
        spool.onAccepted(id -> metrics.received());
        queue.onDelivery(metrics::delivered);
        queue.onDelivery(recent::add);
        queue.onFlush(remote); // a flush forgets dead MX hosts, as Postfix's postqueue -f does
        live.queueRunsWith(new EtrnRuns(queue, live::queuedForAnotherMx, clock)); // ETRN from a primary back in service
        // Queued relay mail for a domain a SIGHUP made local goes to its mailboxes, and local mail for a domain it made a
        // backup one (or removed) is relayed to its domain (Postfix re-resolves in its active queue). The postmaster's
        // mailbox under this host's name, where notices go when no domain has one, is never a configured domain: kept.
        queue.rerouteWith(live::reroute);
        // Domains relayed through one next hop (relay-host, a route) share its per-destination slots, as Postfix counts
        // concurrency per next hop: many domains behind one smarthost open at most concurrency-per-destination sessions.
        queue.nextHopsFrom(domain -> live.config.delivery().nextHopFor(domain).map(Object::toString));
        SmtpServer server = null;
        try {
            tlsReports.start(spool, live::routeLocalMail, dns);
            // Clients are named by forward-confirmed reverse DNS through the delivery's resolvers (dns.servers), as Postfix's smtpd does.
            ClientNameLookup names = config.clientNameLookup() ? new ClientNames(dns) : ClientNameLookup.NONE;
            server = SmtpServer.start(config, Operations.counting(policy, metrics), live.store, names);
            Operations ops = Operations.start(config, spool, queue, hosts, dns, server, policy, metrics, recent, clock,
                    tlsReports.trigger());
            // Deliveries start once every listener is up and the certificate loaded: a start that fails there (exit 78
            // for a key that is not the certificate's, 75 for a port in use) had already sent queued mail, and cut off
            // a delivery after its final dot when it closed the queue, so that the next start sent that message again.
            // Mail accepted before this line waits in incoming/, where the start's listing finds it.
            queue.start();
            return new ReceivingMx(config, spool, queue, remote, connections, server, ops, live, callout,
                    dns.recheckDnssecEvery(Duration.ofHours(1)), tlsReports, lock);
        } catch (IOException | RuntimeException e) {
            if (server != null) {
                server.close();
            }
            live.closeQueueRuns();
            queue.close();
            connections.close();
            callout.close();
            tlsReports.close();
            spool.close();
            throw e;
        }
    }

    /** TLS-RPT's counts and sender, when delivery.tls.reports is on (docs/tls-policy.md). */
    private static final class TlsReports implements AutoCloseable {
        private final MxdConfig config;
        private final Clock clock;
        private final Optional<TlsReportCounts> counts;
        private volatile TlsReportSender sender;

        private TlsReports(MxdConfig config, Clock clock, Optional<TlsReportCounts> counts) {
            this.config = config;
            this.clock = clock;
            this.counts = counts;
        }

        /** Never stops mxd from starting: counts that cannot be opened switch the reports off, with a log line. */
        static TlsReports open(MxdConfig config, Path data, Clock clock) {
            if (!config.delivery().tls().reports()) {
                return new TlsReports(config, clock, Optional.empty());
            }
            try {
                return new TlsReports(config, clock,
                        Optional.of(TlsReportCounts.open(data.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS)));
            } catch (IOException | RuntimeException e) {
                LOG.error("TLS-RPT: the counts in {} cannot be opened ({}); TLS reports are off until the next start",
                        data.resolve("tls-reports"), e.toString());
                return new TlsReports(config, clock, Optional.empty());
            }
        }

        Optional<TlsReportCounts> counts() {
            return counts;
        }

        /** Starts sending: at once for days that ended while mxd was down, then after each UTC day. */
        void start(Spool spool, DsnNotices.LocalMailRoutes routes, DnsClient dns) throws IOException {
            if (counts.isEmpty()) {
                return;
            }
            TlsReportSender.Settings plain = TlsReportSender.Settings.of(config.hostname());
            TlsReportSender.Settings settings = config.delivery().tls().reportDkim()
                    .map(k -> plain.signedBy(DkimSigner.forReports(k.domain(), k.selector(), k.key()))).orElse(plain);
            sender = new TlsReportSender(settings, counts.get(), TlsReportSender.dnsLookup(dns),
                    spool, routes, TlsReportSender.httpsPoster(config.delivery().tls().caFile(), Duration.ofSeconds(30)), clock);
            sender.start();
        }

        Optional<AdminServer.ReportTrigger> trigger() {
            return counts.isEmpty() ? Optional.empty() : Optional.of(() -> {
                try {
                    return java.util.OptionalInt.of(sender.sendNow());
                } catch (TlsReportSender.StillSending e) {
                    return java.util.OptionalInt.empty();
                }
            });
        }

        @Override
        public void close() {
            if (sender != null) {
                sender.close();
            }
            counts.ifPresent(TlsReportCounts::close);
        }
    }

    /**
     * What SIGHUP replaces: the recipient policy (domains, mailboxes, aliases, catch-alls, trusted
     * networks) and the gateway filter in front of the spool. Both are asked afresh at each use, so a
     * session that was open before a reload decides its next RCPT, and stores its next message, with
     * the new settings; a recipient already accepted keeps its route, except that relay mail for a domain made
     * local goes to its mailboxes at its next attempt ({@link QueueManager#rerouteWith}).
     */
    static final class Reloadable {

        private final Spool spool;
        private final Metrics metrics;
        private final Clock clock;
        private volatile RecipientVerifier verifier = RecipientVerifier.UNAVAILABLE;
        private volatile MxdConfig config;
        private volatile DomainPolicy current;
        private volatile MessageStore currentStore;

        final RecipientPolicy policy = new RecipientPolicy() {
            @Override
            public RcptDecision decide(Mailbox recipient, ClientInfo client) {
                return current.decide(recipient, client);
            }

            @Override
            public java.util.concurrent.CompletionStage<RcptDecision> decideForClient(Mailbox recipient, ClientInfo client) {
                return current.decideForClient(recipient, client);
            }

            @Override
            public Optional<Mailbox> postmaster() {
                return current.postmaster();
            }

            @Override
            public Optional<dev.mxd.mail.QueueRuns> queueRuns() {
                return queueRuns;
            }
        };
        /** Who answers ETRN: set once the queue manager exists, before the SMTP server opens. */
        private volatile Optional<dev.mxd.mail.QueueRuns> queueRuns = Optional.empty();
        private volatile EtrnRuns etrn;
        /** Domains a reload removed since the start: their queued mail, postmaster's too, goes for relay (reroute). */
        private final java.util.Set<String> removed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final MessageStore store = new MessageStore() {
            @Override
            public IncomingMessage begin(dev.mxd.mail.Transaction transaction) {
                return currentStore.begin(transaction);
            }

            @Override
            public long freeSpace() {
                return currentStore.freeSpace();
            }
        };

        Reloadable(MxdConfig config, Spool spool, Metrics metrics, Clock clock) {
            this.spool = spool;
            this.metrics = metrics;
            this.clock = clock;
            this.config = config;
            this.current = new DomainPolicy(config, verifier);
            this.currentStore = receivingStore(config, null);
            warnOfConfig(config);
        }

        /** From now on, backup domains with verify: callout ask {@code v}. */
        void verifyWith(RecipientVerifier v) {
            verifier = v;
            current = new DomainPolicy(config, v);
        }

        boolean deliveredHere(String domainKey) {
            return current.deliveredHere(domainKey);
        }

        /** A backup domain whose mail is relayed to its better MX (not routed local): what ETRN may name. */
        boolean queuedForAnotherMx(String domainKey) {
            return config.domain(domainKey).filter(d -> d.role() == dev.mxd.config.Role.BACKUP).isPresent() && !deliveredHere(domainKey);
        }

        void queueRunsWith(EtrnRuns runs) {
            etrn = runs;
            queueRuns = Optional.of(runs);
        }

        /** Before the queue manager stops: no ETRN run starts or goes on after it. */
        void closeQueueRuns() {
            if (etrn != null) {
                etrn.close();
            }
        }

        Optional<Route> routeLocalMail(Mailbox recipient) {
            return current.routeLocalMail(recipient);
        }

        /**
         * Whether the configuration in force has {@code box} as a mailbox of {@code domain}: a queued copy's target. The
         * postmaster's is always there (RFC 5321 §4.5.1; also under this host's name, where notices go that have no domain).
         */
        boolean hasMailbox(String domain, String box) {
            return box.equals(dev.mxd.config.DomainConfig.POSTMASTER)
                    || config.domain(domain).filter(d -> d.mailboxes().contains(box)).isPresent();
        }

        /** The route the configuration in force gives a queued recipient, when another than {@code queued} (QueueManager.Rerouting). */
        Optional<Route> reroute(Mailbox recipient, Route queued) {
            if (queued instanceof Route.Relay relay) {
                if (!deliveredHere(relay.domain())) {
                    return Optional.empty();
                }
                // Delivered here now: to its mailboxes. An address that leads to none fails at the local delivery (5.1.1),
                // as one whose mailbox a reload removed, and as new mail to it is refused at RCPT; it was relayed on by MX
                // for a domain this host now takes itself (to the old primary, or bounced as a loop back to this host).
                return Optional.of(routeLocalMail(recipient).filter(Route.Local.class::isInstance)
                        .orElseGet(() -> new Route.Local(relay.domain(), List.of(recipient.localPart()))));
            }
            Route.Local local = (Route.Local) queued;
            String domain = local.domain();
            // The postmaster's mailbox under this host's name (a notice with nowhere else to go) is no configured domain,
            // and the queue outlives a change of hostname: kept where its domain is not configured and was not removed by a
            // reload (a removed domain's postmaster mail goes for relay as the rest of its mail).
            boolean fallback = config.domain(domain).isEmpty() && (!removed.contains(domain) || domain.equals(config.hostname()))
                    && local.mailboxes().equals(List.of(dev.mxd.config.DomainConfig.POSTMASTER));
            if (deliveredHere(domain) && !local.mailboxes().stream().allMatch(box -> hasMailbox(domain, box))) {
                // A mailbox it was queued for is gone (a reload changed the alias, or removed the mailbox): the address is
                // looked up again, as Postfix's local(8) expands an alias at each delivery, so that the alias's new members
                // get the copy (a mailbox the alias kept may get a second one, as under Postfix, never none). An address
                // that leads nowhere now keeps its route and fails at delivery (5.1.1).
                return routeLocalMail(recipient).filter(Route.Local.class::isInstance);
            }
            return deliveredHere(domain) || fallback ? Optional.empty() : Optional.of(new Route.Relay(domain));
        }

        void replace(MxdConfig next) {
            MxdConfig before = config;
            before.domains().keySet().stream().filter(d -> !next.domains().containsKey(d)).forEach(removed::add);
            removed.removeAll(next.domains().keySet()); // added back
            config = next;
            warnOfConfig(next);
            current = new DomainPolicy(next, verifier);
            if (!next.filters().equals(before.filters()) || filtering(next) != filtering(before)) {
                currentStore = receivingStore(next, before);
            }
        }

        /**
         * What the configuration leaves to the operator, said at start and reload: a local domain that got a postmaster
         * mailbox it was not written with (nobody may read it), and a clamd stream limit under the largest message the
         * server accepts once mxd's Received header is on it (with the defaults, one of exactly limits.max-message-size):
         * on-too-large accept lets such a message through unscanned, which a sender can choose to do.
         */
        private static void warnOfConfig(MxdConfig c) {
            c.warnings().forEach(LOG::warn);
            NodeStart.openFilesShort(c).ifPresent(LOG::warn);
            c.tls().ifPresent(t -> readableByOthers(t.privateKey()).ifPresent(mode -> LOG.warn("tls.private-key {} can be read by"
                    + " every user of this host (mode {}): anyone there can pose as this MX; chmod 0640 it, group mxd's",
                    t.privateKey(), mode)));
            c.delivery().tls().reportDkim().ifPresent(k -> readableByOthers(k.privateKey()).ifPresent(mode -> LOG.warn(
                    "delivery.tls.report-dkim private-key {} can be read by every user of this host (mode {}): anyone there can"
                            + " sign mail as {}; chmod 0640 it", k.privateKey(), mode, k.domain())));
            if (!filtering(c)) {
                return;
            }
            boolean clamdUsed = c.domains().values().stream().anyMatch(d -> d.filter()
                    .filter(f -> f.engines().contains(dev.mxd.config.Engine.CLAMD)).isPresent());
            long largest = c.limits().maxMessageSize().bytes() + 64 * 1024; // the client's text and mxd's header fields
            c.filters().clamd().filter(clamd -> clamdUsed && clamd.streamMaxLength() < largest).ifPresent(clamd ->
                    LOG.warn("filters.clamd.stream-max-length ({} octets) is under the largest message accepted ({} octets with"
                            + " mxd's header fields): larger ones are {} without a virus scan; set it, and clamd's StreamMaxLength,"
                            + " to at least {}", clamd.streamMaxLength(), largest,
                            c.filters().onTooLarge() == dev.mxd.config.FiltersConfig.OnTooLarge.ACCEPT ? "accepted" : "refused",
                            largest));
        }

        /** The mode of {@code file} when users other than its owner and group may read it (a private key that should not be). */
        private static Optional<String> readableByOthers(Path file) {
            try {
                java.util.Set<java.nio.file.attribute.PosixFilePermission> p = java.nio.file.Files.getPosixFilePermissions(file);
                return p.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)
                        ? Optional.of(java.nio.file.attribute.PosixFilePermissions.toString(p)) : Optional.empty();
            } catch (IOException | UnsupportedOperationException unknown) {
                return Optional.empty(); // its loading says what is wrong with it
            }
        }

        private volatile FilterChain currentChain;
        private final java.util.Map<String, Long> retiredCounts = new java.util.concurrent.ConcurrentHashMap<>();
        private boolean filterMetricsBound;
        /** Held here: the meter registry keeps only a weak reference to what it reads. */
        private final java.util.function.Supplier<java.util.Map<String, Long>> filterCountsSource = this::filterCounts;

        private synchronized void retire() {
            FilterChain old = currentChain;
            if (old != null) {
                // Into the total before the chain leaves it, so that no scrape sees the counter go down (a counter reset).
                old.counts().forEach((k, v) -> retiredCounts.merge(k, v, Long::sum));
                currentChain = null;
            }
        }

        /** The filter's verdicts since the start: the chains reloads replaced, and the one in use. */
        private synchronized java.util.Map<String, Long> filterCounts() {
            java.util.Map<String, Long> out = new java.util.LinkedHashMap<>(retiredCounts);
            FilterChain now = currentChain;
            if (now != null) {
                now.counts().forEach((k, v) -> out.merge(k, v, Long::sum));
            }
            return out;
        }

        private static boolean filtering(MxdConfig config) {
            return config.domains().values().stream().anyMatch(d -> d.filter().isPresent());
        }

        /** The gateway filter in front of the spool when a domain filters its mail (issue 7); else the spool itself. */
        private MessageStore receivingStore(MxdConfig c, MxdConfig before) {
            retire(); // the chain in use until now: its counts stay in the node's total
            if (!filtering(c)) {
                return spool;
            }
            FilterChain chain = FilterChain.fromConfig(c.filters());
            currentChain = chain;
            if (!filterMetricsBound) {
                // The verdict counters count over every chain a reload puts in place (they followed the first one only).
                metrics.bindFilters(chain.counts().keySet(), filterCountsSource);
                filterMetricsBound = true;
            }
            return new FilteringStore(spool, chain, domain -> config.domain(domain).flatMap(DomainConfig::filter),
                    new Quarantine(c.dataDir()), clock);
        }
    }

    /**
     * SIGHUP ({@code postfix reload}): reads {@code file} again and applies what can change while
     * running: domains, mailboxes, aliases, catch-alls, the recipient delimiter, filters, trusted networks, the TLS
     * certificate and key (for connections opened from now on), and delivery.relay-host and delivery.routes (for
     * attempts from now on). A file that does not load, or a
     * certificate that cannot be used, changes nothing and is logged with its file and line. Any other
     * setting that changed (listen addresses, data-dir, hostname, limits, timeouts, the rest of delivery, DNS,
     * log) is logged as needing a restart and keeps the value it started with.
     *
     * @return whether the new configuration is in use
     */
    public synchronized boolean reload(Path file) {
        MxdConfig next;
        try {
            next = ConfigLoader.load(file);
        } catch (ConfigException e) {
            LOG.error("reload: invalid configuration, still using the previous one: {}", e.getMessage());
            return false;
        }
        MxdConfig old = config;
        // delivery.routes and delivery.relay-host change with the domains they route (as Postfix's transport_maps
        // and relayhost at postfix reload): a backup domain added with its route to an inner server must not meet
        // the old routes, with which its MX records name this host and the mail would bounce as a loop
        Delivery delivery = old.delivery().withRouting(next.delivery().relayHost(), next.delivery().routes());
        try {
            MxdConfig.checkRoutes(delivery, next.domains());
            MxdConfig.checkRelaysAreNotSelf(delivery, old.smtpListeners());
        } catch (ConfigProblem e) {
            LOG.error("reload: invalid configuration, still using the previous one: {}: {}", file, e.getMessage());
            return false;
        }
        if (!next.tls().equals(old.tls()) || next.tls().isPresent()) { // the same file names may hold a renewed certificate
            try {
                server.replaceCertificate(next.tls());
            } catch (ServerCertificate.UnusableException e) {
                LOG.error("reload: invalid configuration, still using the previous one: {}: tls: {}",
                        next.tls().map(t -> dev.mxd.config.ConfigLoader.whereTls(file, t, e.refused().file())).orElse(file.toString()),
                        e.refused().message());
                return false;
            }
        }
        restartOnly(old, next).forEach(key -> LOG.warn("reload: {} changed in {}; that needs a restart, the value in use stays", key, file));
        MxdConfig applied = new MxdConfig(old.hostname(), old.smtpListeners(), old.adminListener(), old.dataDir(), old.dnsServers(),
                old.localNames(), next.trustedNetworks(), next.domains(), old.limits(), old.timeouts(), next.tls(), delivery,
                next.filters(), old.adminTokenFile(), old.log(), old.clientNameLookup(), old.dnssec(), next.recipientDelimiter());
        live.replace(applied);
        ops.reloaded(applied);
        config = applied;
        if (!delivery.relayHost().equals(old.delivery().relayHost()) || !delivery.routes().equals(old.delivery().routes())) {
            callout.forgetAnswers(routingKey(delivery));
            LOG.info("reload: delivery.relay-host or delivery.routes changed: recipient verification answers forgotten");
        }
        LOG.info("reload: {} in use: {} domain(s), {} trusted network(s), tls {}", file, applied.domains().size(),
                applied.trustedNetworks().size(), applied.tls().map(t -> "from " + t.certificate()).orElse("off"));
        return true;
    }

    /** The keys, as written in the file, of settings that differ and cannot change without a restart. */
    private static List<String> restartOnly(MxdConfig old, MxdConfig next) {
        List<String> keys = new ArrayList<>();
        if (!old.hostname().equals(next.hostname())) keys.add("hostname");
        if (!old.smtpListeners().equals(next.smtpListeners())) keys.add("listen.smtp");
        if (!old.adminListener().equals(next.adminListener())) keys.add("listen.admin");
        if (!old.adminTokenFile().equals(next.adminTokenFile())) keys.add("admin-token-file");
        if (!old.dataDir().equals(next.dataDir())) keys.add("data-dir");
        if (!old.dnsServers().equals(next.dnsServers())) keys.add("dns.servers");
        if (!old.localNames().equals(next.localNames())) keys.add("dns.local-names");
        if (old.clientNameLookup() != next.clientNameLookup()) keys.add("dns.client-name-lookup");
        if (!old.dnssec().equals(next.dnssec())) keys.add("dns.dnssec / dns.trust-anchors");
        if (!old.limits().equals(next.limits())) keys.add("limits");
        if (!old.timeouts().equals(next.timeouts())) keys.add("timeouts");
        if (!old.delivery().withRouting(next.delivery().relayHost(), next.delivery().routes()).equals(next.delivery())) {
            keys.add("delivery (but relay-host and routes)");
        }
        if (!old.log().equals(next.log())) keys.add("log");
        return keys;
    }

    /** A relay host of the configuration as the remote agent takes it. */
    private static NextHop nextHop(RelayHost relay) {
        return relay.mxLookup() ? new NextHop.ByMx(relay.host(), relay.port())
                : new NextHop.Host(relay.host(), relay.literal(), relay.port());
    }

    private static DnsSettings dnsSettings(MxdConfig config) {
        if (config.dnsServers().isEmpty()) {
            return DnsSettings.system().withDnssec(config.dnssec().mode(), config.dnssec().anchors());
        }
        List<InetSocketAddress> servers = config.dnsServers().stream().map(HostPort::socketAddress).toList();
        return DnsSettings.of(servers).withDnssec(config.dnssec().mode(), config.dnssec().anchors());
    }

    public List<InetSocketAddress> smtpAddresses() {
        return server.addresses();
    }

    public Spool spool() {
        return spool;
    }

    public QueueManager queue() {
        return queue;
    }

    public HostStatusTable hostStatus() {
        return remote.hostStatus();
    }

    /** Where the admin listener is bound, when {@code listen.admin} is configured. */
    public java.util.Optional<InetSocketAddress> adminAddress() {
        return ops.admin().map(AdminServer::address);
    }

    public Metrics metrics() {
        return ops.metrics();
    }

    public MxdConfig config() {
        return config;
    }

    /** The Maildir of a mailbox, where delivered mail appears in {@code new/}. */
    public Path maildir(String domain, String mailbox) {
        return config.dataDir().resolve("mail").resolve(domain).resolve(mailbox).resolve("Maildir");
    }

    /** Stops receiving first (421 to open sessions, stored messages acknowledged), then delivery. */
    @Override
    public void close() {
        try {
            closeParts();
        } finally {
            lock.close(); // last: another node may take the data directory only once this one has let go of everything
        }
    }

    private void closeParts() {
        ops.close();
        server.close();
        live.closeQueueRuns();
        queue.close();
        connections.close();
        callout.close();
        tlsReports.close();
        try {
            dnssecRecheck.close();
        } catch (Exception e) {
            LOG.warn("stopping the hourly DNSSEC check: {}", e.toString());
        }
        spool.close(); // its kept descriptors, last: nothing is stored (TLS reports included) or delivered any more
    }

    /** The next hops callouts ask, as the configuration writes them: what the verification cache's answers hold for. */
    static String routingKey(dev.mxd.config.Delivery d) {
        return d.relayHost().map(Object::toString).orElse("-") + " " + new java.util.TreeMap<>(d.routes());
    }
}
