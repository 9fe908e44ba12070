package dev.mxd.tls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS-RPT counts (RFC 8460 §4): per policy domain and UTC day, the sessions that set TLS up as their
 * policy asked and those that failed, per policy, with the failures' details. They are kept in memory
 * and written to {@code DATA-DIR/tls-reports/counts.json} once a second when they changed (a new file,
 * fsynced, renamed over the old one), so a crash loses at most the last second's counts and a torn write
 * leaves the previous file whole. Memory and disk are bounded by {@link Limits}: sessions beyond them are
 * still counted where their row exists, and dropped (with one log line) where a new row would be needed.
 */
public final class TlsReportCounts implements TlsResults, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TlsReportCounts.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String FILE = "counts.json";
    private static final int VERSION = 1;

    /**
     * How much is kept.
     *
     * @param domainDays      (day, policy domain) pairs
     * @param policies        policies per domain and day
     * @param failureDetails  failure-detail rows per policy
     * @param allFailureDetails failure-detail rows in all, over every domain and day (each at most a few
     *                          hundred bytes, so this bounds the file and the memory too)
     */
    public record Limits(int domainDays, int policies, int failureDetails, int allFailureDetails) {
        public static final Limits DEFAULTS = new Limits(10_000, 16, 100, 20_000);

        /** Limits with {@link #DEFAULTS}' overall cap on failure-detail rows. */
        public Limits(int domainDays, int policies, int failureDetails) {
            this(domainDays, policies, failureDetails, 20_000);
        }
    }

    /** A (UTC day, policy domain) pair counts are kept for. */
    public record DayDomain(LocalDate day, String domain) implements Comparable<DayDomain> {
        @Override
        public int compareTo(DayDomain o) {
            int c = day.compareTo(o.day);
            return c != 0 ? c : domain.compareTo(o.domain);
        }
    }

    /**
     * One failure-details row of RFC 8460 §4.4 (sending-mta-ip is not known to the delivery and left out).
     *
     * @param resultType     the result-type
     * @param receivingMx    receiving-mx-hostname
     * @param receivingIp    receiving-ip (text form)
     * @param reasonCode     failure-reason-code
     */
    public record FailureDetail(String resultType, String receivingMx, String receivingIp, String reasonCode) {}

    /** A policy's counts in one domain's day, as they will be reported. */
    public record PolicyCounts(HostTls.ReportedPolicy policy, long successes, long failures, Map<FailureDetail, Long> details) {
        public PolicyCounts {
            details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
        }
    }

    /**
     * A domain's day, as it will be reported.
     *
     * @param from when the counts start (the day's start, or when a report sent early ended)
     */
    public record DomainDayCounts(DayDomain key, Instant from, List<PolicyCounts> policies) {
        public DomainDayCounts {
            policies = List.copyOf(policies);
        }
    }

    private static final class Mutable {
        long successes;
        long failures;
        final Map<FailureDetail, Long> details = new LinkedHashMap<>();
    }

    private static final class Day {
        Instant from;
        final Map<HostTls.ReportedPolicy, Mutable> policies = new LinkedHashMap<>();

        Day(Instant from) {
            this.from = from;
        }
    }

    private final Path file;
    private final Clock clock;
    private final Limits limits;
    private final TreeMap<DayDomain, Day> days = new TreeMap<>();
    /** Per day, where a report sent before the day's end stopped: the next counts of that day start there. */
    private final TreeMap<LocalDate, Instant> sentUntil = new TreeMap<>();
    private ScheduledExecutorService writer;
    private boolean dirty;
    private boolean warnedFull;
    /** Failure-detail rows kept in all. */
    private int detailRows;
    /** Held while counts.json.tmp is written and renamed, so two writers never share it. */
    private final Object fileLock = new Object();

    private TlsReportCounts(Path file, Clock clock, Limits limits) {
        this.file = file;
        this.clock = clock;
        this.limits = limits;
    }

    /**
     * Reads the counts kept in {@code dir} (created if absent) and writes them back there once a second
     * when they changed.
     */
    public static TlsReportCounts open(Path dir, Clock clock, Limits limits) throws IOException {
        return open(dir, clock, limits, true);
    }

    /** As {@link #open(Path, Clock, Limits)}; without {@code background} only {@link #write()} and {@link #close()} write. */
    static TlsReportCounts open(Path dir, Clock clock, Limits limits, boolean background) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(FILE + ".tmp")); // a write a crash interrupted; the file before it is whole
        TlsReportCounts counts = new TlsReportCounts(dir.resolve(FILE), clock, limits);
        counts.read();
        if (background) {
            ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "mxd-tlsrpt-counts");
                t.setDaemon(true);
                return t;
            });
            writer.scheduleWithFixedDelay(counts::writeQuietly, 1, 1, TimeUnit.SECONDS);
            synchronized (counts) {
                counts.writer = writer;
            }
        }
        return counts;
    }

    @Override
    public void record(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure) {
        Instant now = clock.instant();
        LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC);
        DayDomain key = new DayDomain(day, domain.toLowerCase(Locale.ROOT));
        synchronized (this) {
            Day d = days.get(key);
            if (d == null) {
                if (days.size() >= limits.domainDays()) {
                    full("domains", key.domain());
                    return;
                }
                d = new Day(sentUntil.getOrDefault(day, day.atStartOfDay(ZoneOffset.UTC).toInstant()));
                days.put(key, d);
            }
            Mutable p = d.policies.get(tls.policy());
            if (p == null) {
                if (d.policies.size() >= limits.policies()) {
                    full("policies", key.domain());
                    return;
                }
                p = new Mutable();
                d.policies.put(tls.policy(), p);
            }
            if (failure.isEmpty()) {
                p.successes++;
            } else {
                p.failures++;
                Failure f = failure.get();
                FailureDetail row = new FailureDetail(f.resultType(), host, address == null ? "" : address.getHostAddress(),
                        reasonCode(f.detail()));
                if (p.details.containsKey(row)) {
                    p.details.merge(row, 1L, Long::sum);
                } else if (p.details.size() < limits.failureDetails() && detailRows < limits.allFailureDetails()) {
                    p.details.put(row, 1L);
                    detailRows++;
                } else {
                    full("failure details", key.domain());
                }
            }
            dirty = true;
        }
    }

    /** The failure-reason-code: the detail's first line, at most 200 characters. */
    private static String reasonCode(String detail) {
        String line = detail == null ? "" : detail.strip().lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) : line;
    }

    private void full(String what, String domain) {
        if (!warnedFull) {
            warnedFull = true;
            LOG.warn("TLS-RPT: too many {} counted (at {}); a session is left out of the reports", what, domain);
        }
    }

    /** The counts of days that ended before {@code today}, oldest first; with {@code includeToday} today's too. */
    public synchronized List<DomainDayCounts> ended(LocalDate today, boolean includeToday) {
        List<DomainDayCounts> out = new ArrayList<>();
        for (Map.Entry<DayDomain, Day> e : days.entrySet()) {
            if (e.getKey().day().isBefore(today) || (includeToday && e.getKey().day().equals(today))) {
                out.add(snapshot(e.getKey(), e.getValue()));
            }
        }
        return out;
    }

    private static DomainDayCounts snapshot(DayDomain key, Day d) {
        List<PolicyCounts> policies = new ArrayList<>();
        d.policies.forEach((policy, m) -> policies.add(new PolicyCounts(policy, m.successes, m.failures, m.details)));
        return new DomainDayCounts(key, d.from, policies);
    }

    /**
     * Forgets the counts of a reported domain's day; {@code until}, when the report ended before the day
     * did, is where the day's next counts start.
     */
    public synchronized void reported(DayDomain key, Instant until) {
        Day removed = days.remove(key);
        if (removed != null) {
            removed.policies.values().forEach(m -> detailRows -= m.details.size());
        }
        startAfter(key, until);
    }

    /**
     * Takes a sent report's counts off its domain's day and saves at once (so a report is not sent again
     * after a crash): what was counted while the report was made stays, and is reported next, starting at
     * {@code until}. The day is forgotten when nothing is left.
     */
    public void reported(DomainDayCounts sent, Instant until) {
        synchronized (this) {
            Day d = days.get(sent.key());
            if (d != null) {
                for (PolicyCounts p : sent.policies()) {
                    Mutable m = d.policies.get(p.policy());
                    if (m == null) {
                        continue;
                    }
                    m.successes = Math.max(0, m.successes - p.successes());
                    m.failures = Math.max(0, m.failures - p.failures());
                    p.details().forEach((row, count) -> {
                        Long left = m.details.get(row);
                        if (left != null) {
                            if (left <= count) {
                                m.details.remove(row);
                                detailRows--;
                            } else {
                                m.details.put(row, left - count);
                            }
                        }
                    });
                    if (m.successes == 0 && m.failures == 0 && m.details.isEmpty()) {
                        d.policies.remove(p.policy());
                    }
                }
                if (d.policies.isEmpty()) {
                    days.remove(sent.key());
                } else {
                    d.from = until;
                }
            }
            startAfter(sent.key(), until);
        }
        writeQuietly();
    }

    private void startAfter(DayDomain key, Instant until) {
        warnedFull = false;
        Instant dayEnd = key.day().plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        if (until.isBefore(dayEnd)) {
            sentUntil.put(key.day(), until);
        }
        LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
        sentUntil.headMap(today.minusDays(1)).clear();
        dirty = true;
    }

    private void writeQuietly() {
        try {
            write();
        } catch (IOException | RuntimeException e) {
            LOG.warn("TLS-RPT: cannot write the counts to {}: {}", file, e.toString());
        }
    }

    /** Writes the counts when they changed: a new file, fsynced, then renamed over the old one. */
    void write() throws IOException {
        synchronized (fileLock) {
            writeLocked();
        }
    }

    private void writeLocked() throws IOException {
        // Copy under the lock (a few plain objects per row), turn into JSON outside it: record() never
        // waits for the serializing.
        Map<LocalDate, Instant> until;
        List<DomainDayCounts> copy = new ArrayList<>();
        synchronized (this) {
            if (!dirty) {
                return;
            }
            until = new TreeMap<>(sentUntil);
            days.forEach((key, d) -> copy.add(snapshot(key, d)));
            dirty = false;
        }
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(toJson(until, copy));
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                dirty = true;
            }
            throw e;
        }
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } catch (IOException e) {
            synchronized (this) {
                dirty = true;
            }
            throw e;
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // some file systems cannot sync a directory; the rename is still atomic
        }
    }

    private static ObjectNode toJson(Map<LocalDate, Instant> sentUntil, List<DomainDayCounts> days) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", VERSION);
        ObjectNode until = root.putObject("sent-until");
        sentUntil.forEach((day, instant) -> until.put(day.toString(), instant.toString()));
        ArrayNode list = root.putArray("days");
        days.forEach(d -> {
            ObjectNode o = list.addObject();
            o.put("day", d.key().day().toString());
            o.put("domain", d.key().domain());
            o.put("from", d.from().toString());
            ArrayNode policies = o.putArray("policies");
            d.policies().forEach(m -> {
                HostTls.ReportedPolicy policy = m.policy();
                ObjectNode p = policies.addObject();
                p.put("type", policy.type());
                policy.strings().forEach(p.withArray("strings")::add);
                policy.mxHosts().forEach(p.withArray("mx")::add);
                p.put("successes", m.successes());
                p.put("failures", m.failures());
                ArrayNode details = p.putArray("details");
                m.details().forEach((row, count) -> {
                    ObjectNode r = details.addObject();
                    r.put("result-type", row.resultType());
                    r.put("receiving-mx-hostname", row.receivingMx());
                    r.put("receiving-ip", row.receivingIp());
                    r.put("failure-reason-code", row.reasonCode());
                    r.put("count", count);
                });
            });
        });
        return root;
    }

    private synchronized void read() throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        try {
            readFrom(JSON.readTree(file.toFile()));
        } catch (IOException | RuntimeException e) {
            // Only a whole file is ever renamed into place, so this is damage from elsewhere (or a file of
            // another version): keep it aside and start afresh rather than stop mxd from starting.
            days.clear();
            sentUntil.clear();
            detailRows = 0;
            Path aside = file.resolveSibling(FILE + ".unreadable");
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            LOG.error("TLS-RPT: {} cannot be read ({}); moved to {}, counting starts afresh", file, e.getMessage(), aside);
        }
    }

    private void readFrom(JsonNode root) {
        if (root == null || root.path("version").asInt(-1) != VERSION) {
            throw new IllegalArgumentException("not a version " + VERSION + " counts file");
        }
        root.path("sent-until").fields().forEachRemaining(e -> sentUntil.put(LocalDate.parse(e.getKey()), Instant.parse(e.getValue().asText())));
        for (JsonNode o : root.path("days")) {
            Day d = new Day(Instant.parse(o.path("from").asText()));
            for (JsonNode p : o.path("policies")) {
                HostTls.ReportedPolicy policy = new HostTls.ReportedPolicy(p.path("type").asText(), strings(p.path("strings")),
                        strings(p.path("mx")));
                Mutable m = new Mutable();
                m.successes = p.path("successes").asLong();
                m.failures = p.path("failures").asLong();
                for (JsonNode r : p.path("details")) {
                    m.details.put(new FailureDetail(r.path("result-type").asText(), r.path("receiving-mx-hostname").asText(),
                            r.path("receiving-ip").asText(), r.path("failure-reason-code").asText()), r.path("count").asLong());
                    detailRows++;
                }
                d.policies.put(policy, m);
            }
            days.put(new DayDomain(LocalDate.parse(o.path("day").asText()), o.path("domain").asText()), d);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** Stops the writer and writes what is left. */
    @Override
    public void close() {
        ScheduledExecutorService writer;
        synchronized (this) {
            writer = this.writer;
        }
        if (writer != null) {
            writer.shutdown();
            try {
                writer.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        writeQuietly();
    }
}
