package dev.mxd.delivery;

import dev.mxd.mail.RecipientVerifier;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The answers of better MX hosts about recipients (Postfix's verify cache): an address the primary
 * accepted is known for its positive expiry, one it refused for its negative expiry; "cannot tell"
 * is never kept. At most {@code capacity} addresses of each kind, the least recently used going
 * first: positive and negative answers are kept apart, so that a flood of RCPTs for made-up
 * addresses (all refused) cannot push out the recipients known to exist, which are what carries a
 * backup through an outage of the primary. With a file ({@link #persistent}), the known recipients
 * also outlive a restart, as Postfix keeps its verify cache on disk: a backup restarted while the
 * primary is down still takes their mail. The file is written off the callers' threads soon after
 * an answer changes it, then at most once a minute, and at {@link #close}; a crash loses the
 * answers of the last minute at most, which are asked again. Thread-safe.
 */
public final class VerificationCache {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(VerificationCache.class);

    /** An answer, kept until {@code expires}; {@code made} when it was kept (or loaded). */
    private record Entry(RecipientVerifier.Verdict verdict, Instant made, Instant expires) {}

    /** The least time between two writes of the file. */
    static final Duration SAVE_EVERY = Duration.ofMinutes(1);

    private final InstantSource clock;
    private final Map<String, Entry> exist;
    private final Map<String, Entry> refused;
    private final Optional<java.nio.file.Path> file;
    private final Object saving = new Object();
    /** The file's first line: the next hops its answers were asked of. */
    private static final String ROUTING = "# mxd verify cache, next hops ";
    private String routing = ROUTING;

    /** The file's first line for answers asked of the next hops {@code routing} names. */
    private static String header(String routing) {
        return ROUTING + Integer.toHexString(routing.hashCode()) + "/" + routing.length();
    }
    private java.util.concurrent.ScheduledExecutorService saver;
    private boolean closed;
    private boolean dirty;
    private Instant saved = Instant.MIN;

    public VerificationCache(int capacity, InstantSource clock) {
        this(capacity, clock, Optional.empty());
    }

    private VerificationCache(int capacity, InstantSource clock, Optional<java.nio.file.Path> file) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.clock = clock;
        this.exist = lru(capacity);
        this.refused = lru(capacity);
        this.file = file;
    }

    /**
     * A cache whose known recipients are kept in {@code file} (one {@code address TAB expiry-in-epoch-seconds} a line),
     * loaded from it now: expired lines and lines that do not read are left out. A file that cannot be read is logged
     * and the cache starts empty, as it would without one.
     */
    public static VerificationCache persistent(int capacity, InstantSource clock, java.nio.file.Path file) {
        return persistent(capacity, clock, file, "");
    }

    /**
     * As {@link #persistent(int, InstantSource, java.nio.file.Path)}, for answers asked of the next hops {@code routing}
     * names (the relay host and routes as the configuration writes them): a file written under other next hops is
     * not loaded, as a reload that moves them forgets the answers (an old primary's yes stood for a new one's no).
     */
    public static VerificationCache persistent(int capacity, InstantSource clock, java.nio.file.Path file, String routing) {
        VerificationCache c = new VerificationCache(capacity, clock, Optional.of(file));
        c.routing = header(routing);
        if (!java.nio.file.Files.exists(file)) {
            return c;
        }
        Instant now = clock.instant();
        try (java.io.BufferedReader in = java.nio.file.Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
            String first = in.readLine();
            if (first == null || !first.equals(c.routing)) {
                LOG.info("recipient verification cache {}: written under other next hops (relay-host, routes); not loaded", file);
                c.dirty = true; // rewritten empty at the first save
                return c;
            }
            for (String line; (line = in.readLine()) != null; ) {
                int tab = line.lastIndexOf('\t');
                if (tab <= 0) {
                    continue;
                }
                try {
                    Instant expires = Instant.ofEpochSecond(Long.parseLong(line.substring(tab + 1)));
                    if (now.isBefore(expires)) {
                        c.exist.put(line.substring(0, tab), new Entry(new RecipientVerifier.Verdict.Exists(), now, expires));
                    }
                } catch (NumberFormatException | java.time.DateTimeException notALine) {
                    // a line cut short by a crash in the middle of an older write: left out
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("recipient verification cache {} cannot be read ({}); starting without the recipients it knew", file, e.toString());
        }
        return c;
    }

    private static Map<String, Entry> lru(int capacity) {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The answer kept for {@code address}, unless it has expired (then it is forgotten). */
    public synchronized Optional<RecipientVerifier.Verdict> get(String address) {
        for (Map<String, Entry> entries : List.of(exist, refused)) {
            Entry e = entries.get(address);
            if (e == null) {
                continue;
            }
            Instant now = clock.instant();
            // kept after now: kept before the clock was set back, and would otherwise last the step longer
            if (!now.isBefore(e.expires()) || e.made().isAfter(now)) {
                entries.remove(address);
                return Optional.empty();
            }
            return Optional.of(e.verdict());
        }
        return Optional.empty();
    }

    /** Keeps {@code verdict} for {@code address}: Exists for {@code positive}, Refused for {@code negative}, Unknown not at all. */
    public void put(String address, RecipientVerifier.Verdict verdict, Duration positive, Duration negative) {
        synchronized (this) {
            Instant now = clock.instant();
            if (verdict instanceof RecipientVerifier.Verdict.Exists) {
                refused.remove(address);
                exist.put(address, new Entry(verdict, now, now.plus(positive)));
                dirty = true;
            } else if (verdict instanceof RecipientVerifier.Verdict.Refused) {
                dirty |= exist.remove(address) != null;
                refused.put(address, new Entry(verdict, now, now.plus(negative)));
            }
            // (a save after now was made before the clock was set back: it is no reason to wait)
            if (!dirty || file.isEmpty() || (now.isBefore(saved.plus(SAVE_EVERY)) && !saved.isAfter(now))) {
                return;
            }
        }
        saveLater();
    }

    /**
     * A save off the caller's thread (an RCPT waits for no disk), on a daemon thread of this cache's own; answers that
     * come within a minute of a save are written by a save a minute later even when no more answers come.
     */
    private synchronized void saveLater() {
        if (closed) {
            return; // stopped: close() wrote what there was; nothing is written after the node let go of its data
        }
        if (saver == null) {
            saver = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "mxd-verify-cache");
                t.setDaemon(true);
                return t;
            });
            saver.scheduleWithFixedDelay(this::save, SAVE_EVERY.toMillis(), SAVE_EVERY.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        saver.execute(this::save);
    }

    /** Writes what changed and stops the saving thread (a stop of the node). */
    public void close() {
        java.util.concurrent.ScheduledExecutorService s;
        synchronized (this) {
            s = saver;
            saver = null;
            closed = true;
        }
        if (s != null) {
            s.shutdown(); // a write under way ends (an interrupt would cut it short); the minute's timer is cancelled
            try {
                s.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        save();
    }

    /** Forgets every answer (the next hop they came from changed), in the file too. */
    public void clear() {
        forget(Optional.empty());
    }

    /** The next hops the answers are asked of changed (a reload): answers are forgotten and the file marked with them. */
    public void clear(String newRouting) {
        forget(Optional.of(header(newRouting)));
    }

    private void forget(Optional<String> newHeader) {
        synchronized (this) { // one step: no save can write the old answers under the new next hops' line
            newHeader.ifPresent(h -> routing = h);
            exist.clear();
            refused.clear();
            dirty = true;
        }
        if (file.isPresent()) {
            saveLater();
        }
    }

    /**
     * Writes the known recipients to the file, when there is one and they changed since the last write: a new file
     * beside it, forced to disk, renamed over it, so a crash leaves the old file or the new one whole. A failure is
     * logged; the answers stay in memory.
     */
    public void save() {
        if (file.isEmpty()) {
            return;
        }
        synchronized (saving) { // one writer of the file at a time; answers go on being kept meanwhile
            write(file.get());
        }
    }

    private void write(java.nio.file.Path target) {
        StringBuilder text;
        synchronized (this) {
            if (!dirty) {
                return;
            }
            Instant now = clock.instant();
            text = new StringBuilder(exist.size() * 40 + 64).append(routing).append('\n');
            for (Map.Entry<String, Entry> e : exist.entrySet()) {
                if (now.isBefore(e.getValue().expires())) {
                    text.append(e.getKey()).append('\t').append(e.getValue().expires().getEpochSecond()).append('\n');
                }
            }
            dirty = false;
            saved = now;
        }
        java.nio.file.Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            java.nio.file.Files.createDirectories(target.getParent());
            java.nio.file.Files.deleteIfExists(tmp);
            // the addresses of real recipients: readable by mxd's user only
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.util.Set.of(
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE),
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")))) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            java.nio.file.Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException | RuntimeException e) {
            synchronized (this) {
                dirty = true; // tried again at the next answer or save
            }
            LOG.warn("recipient verification cache {} cannot be written ({}); the answers are kept in memory", target, e.toString());
        }
    }

    /** Addresses kept, of both kinds. */
    public synchronized int size() {
        return exist.size() + refused.size();
    }
}
