package dev.mxd.dns;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.xbill.DNS.Name;

/**
 * Answers remembered for their TTL, negative ones for the SOA's negative TTL (RFC 2308 §5), each with its DNSSEC status,
 * in a fixed number of slots; the least recently used answer leaves first. Each answer is tagged with whether it was
 * validated: an answer made under the other DNSSEC mode is never given out (a query still in flight when the mode
 * changed must not leave its unvalidated answer for the validating client, nor the other way round).
 */
final class DnsCache {

    private record Key(Name name, int type) {}

    private record Entry(DnsAnswer answer, long expiresAtNanos, boolean validated) {}

    private final int capacity;
    private final LongSupplier nanoClock;
    private final Map<Key, Entry> entries;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    DnsCache(int capacity, LongSupplier nanoClock) {
        this.capacity = capacity;
        this.nanoClock = nanoClock;
        this.entries = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Entry> eldest) {
                return size() > DnsCache.this.capacity;
            }
        };
    }

    /** The answer remembered for the question, made under the same mode ({@code validated}), or null. */
    DnsAnswer get(Name name, int type, boolean validated) {
        Key key = new Key(name, type);
        synchronized (entries) {
            Entry e = entries.get(key);
            if (usable(e, validated)) {
                hits.increment();
                return e.answer;
            }
            if (e != null) {
                entries.remove(key);
            }
        }
        misses.increment();
        return null;
    }

    /**
     * As {@link #get}, without counting: for a look at the cache whose caller may then ask the same questions
     * through {@link #get} (where they count) when one of its answers is missing.
     */
    DnsAnswer peek(Name name, int type, boolean validated) {
        Key key = new Key(name, type);
        synchronized (entries) {
            Entry e = entries.get(key);
            if (usable(e, validated)) {
                return e.answer;
            }
        }
        return null;
    }

    /** Whether {@code e} answers a question asked in that mode now: made under the same mode and not expired. */
    private boolean usable(Entry e, boolean validated) {
        return e != null && e.validated == validated && e.expiresAtNanos - nanoClock.getAsLong() > 0;
    }

    /** Remembers an answer; {@code validated}: whether it was asked of the validating resolver. */
    void put(Name name, int type, DnsAnswer answer, long ttlSeconds, boolean validated) {
        if (capacity == 0 || ttlSeconds <= 0) {
            return;
        }
        long expires = nanoClock.getAsLong() + ttlSeconds * 1_000_000_000L;
        synchronized (entries) {
            entries.put(new Key(name, type), new Entry(answer, expires, validated));
        }
    }

    /** Forgets every answer (when the DNSSEC decision changes, so no answer keeps a status from before). */
    void clear() {
        synchronized (entries) {
            entries.clear();
        }
    }

    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    long hits() {
        return hits.sum();
    }

    long misses() {
        return misses.sum();
    }
}
