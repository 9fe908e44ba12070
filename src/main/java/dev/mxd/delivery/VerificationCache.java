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
 * The answers of better MX hosts about recipients (Postfix's verify cache), in memory: an address
 * the primary accepted is known for its positive expiry, one it refused for its negative expiry;
 * "cannot tell" is never kept. At most {@code capacity} addresses of each kind, the least recently
 * used going first: positive and negative answers are kept apart, so that a flood of RCPTs for
 * made-up addresses (all refused) cannot push out the recipients known to exist, which are what
 * carries a backup through an outage of the primary. Thread-safe.
 */
public final class VerificationCache {

    private record Entry(RecipientVerifier.Verdict verdict, Instant expires) {}

    private final InstantSource clock;
    private final Map<String, Entry> exist;
    private final Map<String, Entry> refused;

    public VerificationCache(int capacity, InstantSource clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.clock = clock;
        this.exist = lru(capacity);
        this.refused = lru(capacity);
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
            if (!clock.instant().isBefore(e.expires())) {
                entries.remove(address);
                return Optional.empty();
            }
            return Optional.of(e.verdict());
        }
        return Optional.empty();
    }

    /** Keeps {@code verdict} for {@code address}: Exists for {@code positive}, Refused for {@code negative}, Unknown not at all. */
    public synchronized void put(String address, RecipientVerifier.Verdict verdict, Duration positive, Duration negative) {
        if (verdict instanceof RecipientVerifier.Verdict.Exists) {
            refused.remove(address);
            exist.put(address, new Entry(verdict, clock.instant().plus(positive)));
        } else if (verdict instanceof RecipientVerifier.Verdict.Refused) {
            exist.remove(address);
            refused.put(address, new Entry(verdict, clock.instant().plus(negative)));
        }
    }

    /** Forgets every answer (the next hop they came from changed). */
    public synchronized void clear() {
        exist.clear();
        refused.clear();
    }

    /** Addresses kept, of both kinds. */
    public synchronized int size() {
        return exist.size() + refused.size();
    }
}
