package dev.mxd.node;

import dev.mxd.config.Delivery;
import dev.mxd.config.DomainConfig;
import dev.mxd.config.HostPort;
import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.ConnectionCache;
import dev.mxd.delivery.DsnNotices;
import dev.mxd.delivery.DsnWriter;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.delivery.LocalDeliveryAgent;
import dev.mxd.delivery.Maildir;
import dev.mxd.delivery.RemoteDeliveryAgent;
import dev.mxd.delivery.RouteSelector;
import dev.mxd.dns.DnsClient;
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
import dev.mxd.smtp.server.SmtpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;

/**
 * mxd put together, in the order mail flows: SMTP server → recipient policy → spool →
 * queue manager → local Maildir delivery or remote delivery by MX, with bounces back into
 * the spool. {@code mxd serve} runs one; tests start one in-process.
 */
public final class ReceivingMx implements AutoCloseable {

    private final MxdConfig config;
    private final Spool spool;
    private final QueueManager queue;
    private final RemoteDeliveryAgent remote;
    private final ConnectionCache connections;
    private final SmtpServer server;
    private final Operations ops;

    private ReceivingMx(MxdConfig config, Spool spool, QueueManager queue, RemoteDeliveryAgent remote,
                        ConnectionCache connections, SmtpServer server, Operations ops) {
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
        Clock clock = Clock.systemUTC();
        Path data = config.dataDir();
        Delivery d = config.delivery();
        Spool spool = Spool.open(data.resolve("spool"), config.hostname(), clock);
        DomainPolicy policy = new DomainPolicy(config);

        List<String> localNames = new ArrayList<>(config.localNames());
        localNames.add(config.hostname());
        DnsClient dns = new DnsClient(dnsSettings(config));
        MxResolver resolver = new MxResolver(dns, MxPolicy.defaults().withLocalNames(localNames));
        HostStatusTable hosts = new HostStatusTable(d.hostRetry().first(), d.hostRetry().max(), 10_000, InstantSource.system());
        ClientSettings client = ClientSettings.defaults(config.hostname()).withTimeouts(ClientSettings.Timeouts.rfc5321()
                .withCommand(d.commandTimeout()).withConnect(d.connectTimeout()).withGreeting(d.greetingTimeout()));
        // Postfix's smtp_connection_cache_time_limit is 2s; a busy destination keeps its connections warm.
        ConnectionCache connections = new ConnectionCache(Duration.ofSeconds(2), 1000, d.concurrencyPerDestination());
        RemoteDeliveryAgent remote = new RemoteDeliveryAgent(resolver, new RouteSelector(hosts, d.maxAddresses(), d.port()),
                hosts, client, connections, clock);
        LocalDeliveryAgent local = new LocalDeliveryAgent(new Maildir(data.resolve("mail"), config.hostname(), clock,
                Maildir.Ownership.of(d.maildirOwner(), d.maildirGroup())));
        DsnNotices notices = new DsnNotices(config.hostname(), spool, policy::routeLocalMail, policy.noticePostmaster(),
                new DsnWriter(), clock);
        QueueManager queue = new QueueManager(spool, new QueueManager.Settings(d.concurrency(), d.concurrencyPerDestination(),
                new RetryPolicy(d.retry().first(), d.retry().max(), d.retry().giveUp()), d.scanInterval(), 10_000),
                local, remote, notices, clock);
        Metrics metrics = new Metrics(clock);
        RecentEvents recent = new RecentEvents(200);
        spool.onAccepted(id -> metrics.received());
        queue.onDelivery(metrics::delivered);
        queue.onDelivery(recent::add);
        queue.onFlush(remote); // a flush forgets dead MX hosts, as Postfix's postqueue -f does
        queue.start();
        SmtpServer server = null;
        try {
            server = SmtpServer.start(config, Operations.counting(policy, metrics), receivingStore(config, spool, metrics, clock));
            Operations ops = Operations.start(config, spool, queue, hosts, dns, server, policy, metrics, recent, clock);
            return new ReceivingMx(config, spool, queue, remote, connections, server, ops);
        } catch (IOException | RuntimeException e) {
            if (server != null) {
                server.close();
            }
            queue.close();
            connections.close();
            throw e;
        }
    }

    /** The gateway filter in front of the spool when a domain filters its mail (issue 7); else the spool itself. */
    private static MessageStore receivingStore(MxdConfig config, Spool spool, Metrics metrics, Clock clock) {
        if (config.domains().values().stream().noneMatch(d -> d.filter().isPresent())) {
            return spool;
        }
        FilterChain chain = FilterChain.fromConfig(config.filters());
        metrics.bindFilters(chain);
        return new FilteringStore(spool, chain, domain -> config.domain(domain).flatMap(DomainConfig::filter),
                new Quarantine(config.dataDir()), clock);
    }

    private static DnsSettings dnsSettings(MxdConfig config) {
        if (config.dnsServers().isEmpty()) {
            return DnsSettings.system();
        }
        List<InetSocketAddress> servers = config.dnsServers().stream().map(HostPort::socketAddress).toList();
        return DnsSettings.of(servers);
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
        ops.close();
        server.close();
        queue.close();
        connections.close();
    }
}
