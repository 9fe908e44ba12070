package dev.mxd.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.config.MxdConfig;
import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.filter.EngineResult;
import dev.mxd.filter.FilterChain;
import dev.mxd.filter.ScanEngine;
import dev.mxd.queue.Spool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What /health measures rather than reads off mxd's own state: the spool's file system (free space
 * and free inodes) and the filter engines the domains scan with (docs/operations.md).
 *
 * <p>Probes run in the background, each at most once per {@link #INTERVAL}, so that /health costs
 * no engine a connection and starts no process however often it is asked: a request reads the last
 * results. Free space is the exception, read at each request: one {@code statvfs} call.
 *
 * <p>The JDK gives free space ({@link FileStore#getUsableSpace}) but not free inodes, so those come
 * from coreutils' {@code stat --file-system} on the spool, run with a deadline; without it they are
 * reported as unknown and do not fail the check.
 */
public final class HealthProbes implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HealthProbes.class);

    /** How often each engine is asked and the inodes counted. */
    static final Duration INTERVAL = Duration.ofSeconds(5);
    /** Longest wait for an engine's answer to a probe (filters.timeout when shorter). */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    /** How long a message refused for lack of space keeps the space check failing without another try. */
    static final Duration FAILURE_MEMORY = Duration.ofSeconds(60);
    /** Fewer free inodes than this fail the space check: a message needs one in the spool and one per mailbox. */
    static final long MIN_FREE_INODES = 1000;

    /** One engine's last probe: when, and why it failed (empty: it answered). */
    private record EngineState(Instant at, Optional<EngineResult.Unavailable> problem) {}

    /** The spool file system's inodes, when {@code stat} could count them. */
    private record Inodes(long total, long free, long countedNanos) {}

    /** A count older than this (no child could be started since: the process is near its open-files limit) is unknown. */
    private static final long INODES_KEPT_NANOS = 4 * INTERVAL.toNanos();

    private final Spool spool;
    private final FileStore store;
    private final long minFreeSpace;
    private final Clock clock;
    private volatile Map<Engine, ScanEngine> engines;
    /** The probe task of each engine in {@link #engines}, cancelled when a reload stops using it. */
    private final Map<Engine, java.util.concurrent.ScheduledFuture<?>> probing = new ConcurrentHashMap<>();
    private final Map<Engine, EngineState> states = new ConcurrentHashMap<>();
    private volatile Optional<Inodes> inodes = Optional.empty();
    private final ScheduledExecutorService scheduler;

    /**
     * Listening addresses as /health shows them, comma-separated: {@code 127.0.0.20:3225}, an IPv6
     * address in brackets ({@code [::1]:25}), never Java's {@code /127.0.0.20:3225}.
     */
    public static String addresses(List<java.net.InetSocketAddress> listening) {
        List<String> out = new ArrayList<>();
        for (java.net.InetSocketAddress a : listening) {
            String host = a.getAddress() == null ? a.getHostString() : dev.mxd.smtp.AddressText.of(a.getAddress());
            out.add((host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort());
        }
        return out.isEmpty() ? "nothing" : String.join(", ", out);
    }

    private HealthProbes(Spool spool, FileStore store, long minFreeSpace, Clock clock, Map<Engine, ScanEngine> engines) {
        this.spool = spool;
        this.store = store;
        this.minFreeSpace = minFreeSpace;
        this.clock = clock;
        this.engines = engines;
        this.scheduler = Executors.newScheduledThreadPool(Engine.values().length + 1, r -> {
            Thread t = new Thread(r, "mxd-health");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts probing the spool's file system and each engine a domain of {@code config} filters with
     * (an engine configured under {@code filters:} that no domain uses changes no reply, so it is not asked).
     */
    public static HealthProbes start(MxdConfig config, Spool spool, Clock clock) throws IOException {
        HealthProbes probes = new HealthProbes(spool, Files.getFileStore(spool.root()), config.limits().minFreeSpace().bytes(),
                clock, Map.of());
        probes.scheduler.scheduleWithFixedDelay(probes::countInodes, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        probes.replace(config);
        return probes;
    }

    /**
     * Probes the engines {@code config}'s domains filter with from now on (SIGHUP): an engine no domain uses any
     * more leaves /health (it kept /health at 503 after a reload stopped using it, until a restart), one a domain
     * starts using is asked at once (a dead one let every message get a 4xx while /health said 200).
     */
    public synchronized void replace(MxdConfig config) {
        Set<Engine> used = EnumSet.noneOf(Engine.class);
        config.domains().values().forEach(d -> d.filter().map(DomainFilter::engines).ifPresent(used::addAll));
        Duration timeout = config.filters().timeout().compareTo(PROBE_TIMEOUT) < 0 ? config.filters().timeout() : PROBE_TIMEOUT;
        Map<Engine, ScanEngine> next = new LinkedHashMap<>();
        FilterChain.clients(config.filters(), timeout).forEach((e, client) -> {
            if (used.contains(e)) {
                next.put(e, client);
            }
        });
        probing.values().forEach(f -> f.cancel(false));
        probing.clear();
        states.keySet().retainAll(next.keySet());
        engines = Map.copyOf(next);
        for (Map.Entry<Engine, ScanEngine> e : next.entrySet()) {
            ScanEngine client = e.getValue();
            try {
                probing.put(e.getKey(), scheduler.scheduleWithFixedDelay(() -> probe(client), 0, INTERVAL.toMillis(),
                        TimeUnit.MILLISECONDS));
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                return; // closed meanwhile
            }
        }
    }

    /** The checks this adds to /health: {@code space}, then one per engine ({@code clamd}, {@code spamd}, {@code rspamd}). */
    public Map<String, ObjectNode> checks() {
        Map<String, ObjectNode> checks = new LinkedHashMap<>();
        checks.put("space", space());
        Map<Engine, ScanEngine> now = new java.util.TreeMap<>(engines); // in the engines' order, whatever the reloads
        for (Map.Entry<Engine, ScanEngine> e : now.entrySet()) {
            checks.put(e.getKey().configName(), engine(e.getValue()));
        }
        return checks;
    }

    /**
     * The spool: its incoming directory writable, and the last message stored (a failure other than a
     * full disk, which {@code space} reports, keeps this failing for {@link #FAILURE_MEMORY} or until a
     * message is stored again).
     */
    public ObjectNode spool(Path incoming) {
        boolean writable = Files.isWritable(incoming);
        Optional<Spool.StoreFailure> failure = recentFailure().filter(f -> !f.noSpace());
        List<String> problems = new ArrayList<>();
        if (!writable) {
            problems.add(incoming + " is not writable");
        }
        failure.ifPresent(f -> problems.add(refused(f)));
        return AdminServer.check(problems.isEmpty(), problems.isEmpty() ? spool.root() + " is writable" : String.join("; ", problems));
    }

    private ObjectNode space() {
        List<String> problems = new ArrayList<>();
        long free;
        long total;
        try {
            free = store.getUsableSpace();
            total = store.getTotalSpace();
        } catch (IOException e) {
            ObjectNode o = AdminServer.check(false, "cannot read the free space of " + spool.root() + ": " + e.getMessage());
            o.put("min_free_bytes", minFreeSpace);
            return o;
        }
        if (free < minFreeSpace) {
            problems.add(mb(free) + " free, under limits.min-free-space " + mb(minFreeSpace));
        }
        long now = System.nanoTime();
        Optional<Inodes> i = inodes.filter(n -> now - n.countedNanos() < INODES_KEPT_NANOS);
        if (i.isPresent() && i.get().total() > 0 && i.get().free() < MIN_FREE_INODES) {
            problems.add(i.get().free() + " inodes free, under " + MIN_FREE_INODES);
        }
        recentFailure().filter(Spool.StoreFailure::noSpace).ifPresent(f -> problems.add(refused(f)));
        String measured = spool.root() + ": " + mb(free) + " free of " + mb(total)
                + i.map(n -> n.total() > 0 ? ", " + n.free() + " of " + n.total() + " inodes free" : ", no inode limit")
                        .orElse(", inodes unknown");
        ObjectNode o = AdminServer.check(problems.isEmpty(), problems.isEmpty() ? measured : String.join("; ", problems) + " (" + measured + ")");
        o.put("free_bytes", free);
        o.put("total_bytes", total);
        o.put("min_free_bytes", minFreeSpace);
        if (i.isPresent()) {
            o.put("free_inodes", i.get().free());
            o.put("total_inodes", i.get().total());
        } else {
            o.putNull("free_inodes");
            o.putNull("total_inodes");
        }
        return o;
    }

    /** The spool's last store failure, while no message was stored since and it is under {@link #FAILURE_MEMORY} old. */
    private Optional<Spool.StoreFailure> recentFailure() {
        Instant now = clock.instant();
        return spool.lastStoreFailure().filter(f -> Duration.between(f.at(), now).compareTo(FAILURE_MEMORY) < 0);
    }

    private String refused(Spool.StoreFailure f) {
        return "the last message was refused with 452 4.3.1 " + ago(f.at()) + ": " + f.error();
    }

    private ObjectNode engine(ScanEngine client) {
        EngineState s = states.get(client.engine());
        if (s == null) {
            return AdminServer.check(false, client + ": not probed yet");
        }
        ObjectNode o = s.problem().isEmpty()
                ? AdminServer.check(true, client + " answered " + ago(s.at()))
                : AdminServer.check(false, s.problem().get().summary() + ", " + ago(s.at()));
        o.put("checked", s.at().toString());
        return o;
    }

    private void probe(ScanEngine client) {
        Optional<EngineResult.Unavailable> problem;
        try {
            problem = client.ping();
        } catch (RuntimeException e) {
            problem = Optional.of(new EngineResult.Unavailable(client.engine(), EngineResult.Reason.PROTOCOL_ERROR,
                    "the " + client.engine() + " probe failed: " + e));
        }
        if (engines.get(client.engine()) != client) {
            return; // replaced by a reload while it was asked
        }
        EngineState before = states.put(client.engine(), new EngineState(clock.instant(), problem));
        boolean wasUp = before == null || before.problem().isEmpty();
        if (wasUp && problem.isPresent()) {
            LOG.warn("health: {}; /health answers 503 until it is back", problem.get().summary());
        } else if (!wasUp && problem.isEmpty()) {
            LOG.info("health: {} answers again", client);
        }
    }

    /**
     * Whether this process may start a child now. The JDK's {@code ProcessImpl.forkAndExec} (17 and 25 alike), when one of
     * its {@code pipe()} calls fails for want of descriptors, closes two descriptor numbers it never set: those of an
     * earlier start's pipes, which by then belong to another owner (a client's socket, the accept journal), whose bytes
     * then went to whoever got the number next (a hunt at {@code ulimit -n 64} saw a relay's MAIL and RCPT reach another
     * client, and a journal record reach a next hop). A child is started only with an eighth of the limit free, and 32 at
     * least, so that its pipes cannot fail.
     */
    static boolean descriptorsToSpare() {
        if (!(java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix)) {
            return false;
        }
        try {
            return descriptorsToSpare(unix.getOpenFileDescriptorCount(), unix.getMaxFileDescriptorCount());
        } catch (RuntimeException | Error noDescriptorToCountWith) {
            return false; // the count lists /proc/self/fd, and at the limit it throws InternalError: none to spare
        }
    }

    static boolean descriptorsToSpare(long open, long limit) {
        return open >= 0 && limit > 0 && limit - open >= Math.max(32, limit / 8);
    }

    /**
     * {@code stat --file-system --format='%c %d'}: total and free inodes of the spool's file system. Only with descriptors
     * to spare ({@link #descriptorsToSpare}); else the last count stands, for 20 s (then the inodes are unknown).
     */
    private void countInodes() {
        if (!descriptorsToSpare()) {
            return;
        }
        try {
            countInodesNow();
        } catch (RuntimeException | Error e) {
            // anything else: this count is lost, not the next ones (a task that throws is never run again)
            LOG.debug("inode count failed: {}", e.toString());
        }
    }

    private void countInodesNow() {
        try {
            Process p = new ProcessBuilder("stat", "--file-system", "--format=%c %d", spool.root().toString())
                    .redirectErrorStream(true).start();
            if (!p.waitFor(2, TimeUnit.SECONDS)) { // a hung file system: say nothing rather than wait
                p.destroyForcibly();
                inodes = Optional.empty();
                return;
            }
            String out;
            try (var in = p.getInputStream()) {
                out = new String(in.readNBytes(256), StandardCharsets.US_ASCII).strip(); // one short line: the pipe held it
            }
            String[] f = out.split("\\s+");
            if (p.exitValue() != 0 || f.length != 2) {
                inodes = Optional.empty();
                return;
            }
            inodes = Optional.of(new Inodes(Long.parseLong(f[0]), Long.parseLong(f[1]), System.nanoTime()));
        } catch (IOException | NumberFormatException e) {
            inodes = Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String ago(Instant at) {
        long s = Math.max(0, Duration.between(at, clock.instant()).toSeconds());
        return s + " s ago";
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024.0));
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
