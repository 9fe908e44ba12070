package dev.mxd.tls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MTA-STS policies mxd knows, one file per domain under {@code <data-dir>/mta-sts/} so that they
 * outlive restarts (RFC 8461 §5.1: a sender keeps a policy for its {@code max_age}). A file is written to
 * a temporary name, fsynced and renamed over the old one. At most {@code limit} domains are kept; past
 * that the policy that expires first goes.
 */
public final class StsPolicyCache {

    private static final Logger LOG = LoggerFactory.getLogger(StsPolicyCache.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A policy as cached: the TXT record's id it was fetched under and when it was fetched. */
    public record Entry(String domain, String id, Instant fetched, StsPolicy policy) {
        /** When it may no longer be used. */
        public Instant expires() {
            return fetched.plusSeconds(policy.maxAge());
        }
    }

    private final Path dir;
    private final int limit;
    private final Clock clock;
    private final Map<String, Entry> entries = new HashMap<>();

    private StsPolicyCache(Path dir, int limit, Clock clock) {
        this.dir = dir;
        this.limit = limit;
        this.clock = clock;
    }

    /** Opens (and creates) {@code dir}, reading the policies still valid and removing the rest. */
    public static StsPolicyCache open(Path dir, int limit, Clock clock) throws IOException {
        Files.createDirectories(dir);
        StsPolicyCache cache = new StsPolicyCache(dir, limit, clock);
        Instant now = clock.instant();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".json")) {
                    Files.deleteIfExists(f); // a temporary file a crash left
                    continue;
                }
                Optional<Entry> e = read(f);
                if (e.isEmpty() || !e.get().expires().isAfter(now) || !fileName(e.get().domain()).equals(name)) {
                    Files.deleteIfExists(f);
                } else {
                    cache.entries.put(e.get().domain(), e.get());
                }
            }
        }
        while (cache.entries.size() > limit) {
            cache.evictOne();
        }
        return cache;
    }

    /** The policy of {@code domain} while its {@code max_age} lasts. */
    public synchronized Optional<Entry> get(String domain) {
        Entry e = entries.get(domain);
        if (e != null && !e.expires().isAfter(clock.instant())) {
            remove(domain);
            return Optional.empty();
        }
        return Optional.ofNullable(e);
    }

    /**
     * Keeps {@code entry} in memory and on disk. The memory copy is kept even when the disk write fails
     * (the exception says so), so that a full or read-only disk does not make every delivery fetch again.
     */
    public synchronized void put(Entry entry) throws IOException {
        entries.put(entry.domain(), entry);
        while (entries.size() > limit) {
            evictOne();
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("domain", entry.domain());
        o.put("id", entry.id());
        o.put("fetched", entry.fetched().toString());
        o.put("policy", entry.policy().text());
        Path target = dir.resolve(fileName(entry.domain()));
        Path tmp = dir.resolve(fileName(entry.domain()) + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(JSON.writeValueAsBytes(o));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            LOG.debug("cannot fsync {}: {}", dir, e.toString());
        }
    }

    /** How many domains are cached. */
    public synchronized int size() {
        return entries.size();
    }

    private void evictOne() {
        entries.values().stream().min(Comparator.comparing(Entry::expires)).ifPresent(e -> remove(e.domain()));
    }

    private void remove(String domain) {
        entries.remove(domain);
        try {
            Files.deleteIfExists(dir.resolve(fileName(domain)));
        } catch (IOException e) {
            LOG.warn("cannot remove the cached MTA-STS policy of {}: {}", domain, e.toString());
        }
    }

    /** Domains are A-labels (letters, digits, hyphens, dots): safe as file names once lower-cased. */
    private static String fileName(String domain) {
        return domain.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "_") + ".json";
    }

    private static Optional<Entry> read(Path f) {
        try {
            JsonNode o = JSON.readTree(Files.readAllBytes(f));
            StsPolicy policy = StsPolicy.parse(o.get("policy").asText());
            return Optional.of(new Entry(o.get("domain").asText(), o.get("id").asText(), Instant.parse(o.get("fetched").asText()), policy));
        } catch (IOException | RuntimeException | StsPolicy.Invalid e) {
            LOG.warn("ignoring the unreadable MTA-STS cache file {}: {}", f, e.toString());
            return Optional.empty();
        }
    }
}
