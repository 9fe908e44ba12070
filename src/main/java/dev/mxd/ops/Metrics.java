package dev.mxd.ops;

import dev.mxd.delivery.HostStatusTable;
import dev.mxd.dns.DnsClient;
import dev.mxd.queue.DeliveryEvent;
import dev.mxd.queue.Destination;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.SmtpReply;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * mxd's meters (docs/operations.md lists them), in one Prometheus registry served at
 * {@code /metrics}. The lower packages know nothing of it: they call listener interfaces
 * ({@link dev.mxd.queue.DeliveryListener}, the spool's acceptance listener, a recipient policy
 * wrapper) and expose plain counters, which are read here when Prometheus scrapes.
 *
 * <p>No label has unbounded values: outcomes, transports, queue states, filter verdicts and
 * enhanced status codes from mxd's own reply table. Nothing per recipient, domain or host.
 *
 * <p>Beside mxd's own meters, the process's: the JVM's memory, garbage collection, threads and
 * classes, CPU and open files, and the uptime ({@code process_uptime_seconds}), from Micrometer's
 * standard binders under their usual names, and the spool file system's free space.
 */
public final class Metrics implements AutoCloseable {

    /** Arrival-to-delivery buckets: seconds for local mail, minutes to days for deferred mail. */
    private static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
            Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(30),
            Duration.ofHours(1), Duration.ofHours(6), Duration.ofDays(1), Duration.ofDays(5)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Clock clock;
    private final Counter received;
    private final Timer latency;
    /** Listens to the JVM's collection notifications until {@link #close}. */
    private final JvmGcMetrics gc = new JvmGcMetrics();

    public Metrics(Clock clock) {
        this.clock = clock;
        this.received = Counter.builder("mxd.messages.received").description("messages accepted into the spool (250 after DATA, bounces mxd made)")
                .register(registry);
        this.latency = Timer.builder("mxd.delivery.latency").description("arrival to delivery of each delivered recipient")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        for (DeliveryEvent.Outcome o : DeliveryEvent.Outcome.values()) {
            for (String transport : Destination.TRANSPORTS) {
                deliveries(o, transport); // present at 0 from the start, so rate() works from the first scrape
            }
        }
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Stops listening to the JVM's garbage collections (the node stops). */
    @Override
    public void close() {
        gc.close();
    }

    /** A message was accepted (the spool's acceptance listener). */
    public void received() {
        received.increment();
    }

    /** One recipient's delivery outcome (the queue manager's listener). */
    public void delivered(DeliveryEvent e) {
        deliveries(e.outcome(), e.transport()).increment();
        if (e.outcome() == DeliveryEvent.Outcome.SENT) {
            latency.record(e.delay().isNegative() ? Duration.ZERO : e.delay());
        }
    }

    private Counter deliveries(DeliveryEvent.Outcome outcome, String transport) {
        return Counter.builder("mxd.deliveries").description("recipient delivery attempts by outcome (sent, deferred, bounced)")
                .tag("outcome", outcome.word()).tag("transport", transport).register(registry);
    }

    /** A recipient refused at RCPT, by the reply given (codes come from mxd's own table: bounded). */
    public void rcptRejected(SmtpReply reply) {
        Counter.builder("mxd.smtp.rejected").description("recipients refused at RCPT, by reply code and enhanced status")
                .tag("code", String.valueOf(reply.code())).tag("status", reply.enhancedStatus().map(Object::toString).orElse("")).register(registry).increment();
    }

    /**
     * A refusal the SMTP server sent (any 4xx or 5xx, at any stage, after DATA included), by stage
     * and reply code: {@code mxd_smtp_rejections_total{stage="rcpt",code="550"}}. Both labels are
     * bounded (the server's stage names; codes 400 to 599).
     */
    public void smtpRejected(String stage, int code) {
        Counter.builder("mxd.smtp.rejections").description("SMTP replies refusing something (4xx, 5xx), by stage and code")
                .tag("stage", stage).tag("code", String.valueOf(code)).register(registry).increment();
    }

    /**
     * Queue size per state and the oldest message's age per state, from directory listings at each
     * scrape; and the free and total space of the spool's file system (one statvfs at each scrape).
     */
    public void bindSpool(Spool spool) {
        Gauge.builder("mxd.spool.free", () -> space(spool, FileStore::getUsableSpace)).baseUnit("bytes")
                .description("space the spool's file system has free for mxd (usable by its user)").register(registry);
        Gauge.builder("mxd.spool.total", () -> space(spool, FileStore::getTotalSpace)).baseUnit("bytes")
                .description("size of the spool's file system").register(registry);
        for (QueueState state : QueueState.values()) {
            Gauge.builder("mxd.queue.messages", () -> count(spool, state)).description("messages in the spool by state")
                    .tag("state", state.directory()).register(registry);
            Gauge.builder("mxd.queue.oldest.age", () -> oldestAge(spool, state)).baseUnit("seconds")
                    .description("age of the oldest message in this state (0 when empty)").tag("state", state.directory()).register(registry);
        }
    }

    /** What one file store call says of the spool's file system, NaN when it cannot be read. */
    @FunctionalInterface
    private interface SpaceQuery {
        long of(FileStore store) throws IOException;
    }

    private static double space(Spool spool, SpaceQuery query) {
        try {
            return query.of(Files.getFileStore(spool.root()));
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    private static double count(Spool spool, QueueState state) {
        try {
            return spool.count(state);
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    private double oldestAge(Spool spool, QueueState state) {
        try {
            List<String> ids = spool.ids(state);
            if (ids.isEmpty()) {
                return 0;
            }
            Instant oldest = Spool.arrivalOf(ids.get(0)).orElse(clock.instant());
            return Math.max(0, Duration.between(oldest, clock.instant()).toMillis() / 1000.0);
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    /** SMTP connections open now. */
    public void bindSmtpSessions(IntSupplier open) {
        Gauge.builder("mxd.smtp.sessions.open", open::getAsInt).description("SMTP connections open now").register(registry);
    }

    /** The host status table: addresses passed over now, and all remembered failures. */
    public void bindHosts(HostStatusTable hosts) {
        Gauge.builder("mxd.hosts.postponed", () -> hosts.snapshot().stream().filter(s -> s.postponedAt(clock.instant())).count())
                .description("MX addresses passed over now after a connection failure").register(registry);
        Gauge.builder("mxd.hosts.failed", () -> hosts.snapshot().size())
                .description("MX addresses with a remembered connection failure (postponed or due for a retry)").register(registry);
    }

    /** DNS questions sent upstream and answers from the cache. */
    public void bindDns(DnsClient dns) {
        FunctionCounter.builder("mxd.dns.queries", dns, DnsClient::queriesSent).description("DNS messages sent upstream (each try)")
                .register(registry);
        FunctionCounter.builder("mxd.dns.cache.hits", dns, DnsClient::cacheHits).description("DNS questions answered from the cache")
                .register(registry);
        FunctionCounter.builder("mxd.dns.cache.misses", dns, DnsClient::cacheMisses)
                .description("DNS questions the cache could not answer").register(registry);
    }

    /** The gateway filter's verdicts by kind (accept, tagged, reject, tempfail, quarantine, discard). */
    /**
     * The verdict counters, read from {@code counts} (the node's total over the chains SIGHUP has put in
     * place: each reload makes a new chain, whose own counts start at zero). The registry holds {@code counts}
     * weakly: the caller keeps it.
     */
    public void bindFilters(java.util.Set<String> kinds, java.util.function.Supplier<Map<String, Long>> counts) {
        for (String kind : kinds) {
            FunctionCounter.builder("mxd.filter.verdicts", counts, c -> c.get().getOrDefault(kind, 0L))
                    .description("messages the gateway filter judged, by verdict").tag("verdict", kind).register(registry);
        }
    }

    /** The Prometheus text exposition (format 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    /** Counters by outcome, for the status page's summary line. */
    public Map<DeliveryEvent.Outcome, Long> deliveryTotals() {
        Map<DeliveryEvent.Outcome, Long> out = new EnumMap<>(DeliveryEvent.Outcome.class);
        for (DeliveryEvent.Outcome o : DeliveryEvent.Outcome.values()) {
            double sum = registry.find("mxd.deliveries").tag("outcome", o.word()).counters().stream().mapToDouble(Counter::count).sum();
            out.put(o, (long) sum);
        }
        return out;
    }

    public long receivedTotal() {
        return (long) received.count();
    }
}
