package dev.mxd.delivery;

import dev.mxd.mail.RecipientVerifier;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The answers of better MX hosts about recipients (Postfix's verify cache), in memory: an address
 * the primary accepted is known for its positive expiry, one it refused for its negative expiry;
 * "cannot tell" is never kept. At most {@code capacity} addresses; the least recently used goes
 * first. Thread-safe.
 */
public final class VerificationCache {

    private record Entry(RecipientVerifier.Verdict verdict, Instant expires) {}

    private final InstantSource clock;
    private final Map<String, Entry> entries;

    public VerificationCache(int capacity, InstantSource clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.clock = clock;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The answer kept for {@code address}, unless it has expired (then it is forgotten). */
    public synchronized Optional<RecipientVerifier.Verdict> get(String address) {
        Entry e = entries.get(address);
        if (e == null) {
            return Optional.empty();
        }
        if (!clock.instant().isBefore(e.expires())) {
            entries.remove(address);
            return Optional.empty();
        }
        return Optional.of(e.verdict());
    }

    /** Keeps {@code verdict} for {@code address}: Exists for {@code positive}, Refused for {@code negative}, Unknown not at all. */
    public synchronized void put(String address, RecipientVerifier.Verdict verdict, Duration positive, Duration negative) {
        if (verdict instanceof RecipientVerifier.Verdict.Exists) {
            entries.put(address, new Entry(verdict, clock.instant().plus(positive)));
        } else if (verdict instanceof RecipientVerifier.Verdict.Refused) {
            entries.put(address, new Entry(verdict, clock.instant().plus(negative)));
        }
    }

    public synchronized int size() {
        return entries.size();
    }
}
