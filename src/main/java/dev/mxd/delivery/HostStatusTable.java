package dev.mxd.delivery;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Remembers MX addresses that just failed at the connection level (refused, timeout, bad
 * greeting), like OkHttp's RouteDatabase or Exim's retry database: a failed address is
 * postponed until its retry time, backing off from {@code first} to {@code max}, so one
 * dead primary costs one timeout per retry period instead of one per message. Success
 * forgets the failure at once, so a host that comes back gets mail again.
 */
public final class HostStatusTable {

    /** What is known about one postponed address. */
    public record Status(String host, InetSocketAddress address, int failures, String lastError,
                         Instant failedAt, Instant retryAt) {}

    private final Duration first;
    private final Duration max;
    private final int capacity;
    private final InstantSource clock;
    private final Map<InetSocketAddress, Status> failed = new LinkedHashMap<>();

    public HostStatusTable(Duration first, Duration max, int capacity, InstantSource clock) {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("host retry must be positive with max >= first");
        }
        this.first = first;
        this.max = max;
        this.capacity = capacity;
        this.clock = clock;
    }

    /** Postfix-like defaults: first retry after 60 s, backing off to 1 h; 10,000 addresses remembered. */
    public static HostStatusTable withDefaults() {
        return new HostStatusTable(Duration.ofSeconds(60), Duration.ofHours(1), 10_000, InstantSource.system());
    }

    /** Records a connection-level failure and returns the new status. */
    public synchronized Status failed(MxRoute route, String error) {
        InetSocketAddress key = route.socketAddress();
        Status before = failed.remove(key);
        int failures = before == null ? 1 : before.failures() + 1;
        Instant now = clock.instant();
        Status s = new Status(route.host(), key, failures, error, now, now.plus(backoff(failures)));
        failed.put(key, s);
        if (failed.size() > capacity) {
            failed.remove(failed.keySet().iterator().next()); // the longest-known failure leaves first
        }
        return s;
    }

    /** A successful connection: the address is healthy again. */
    public synchronized void succeeded(MxRoute route) {
        failed.remove(route.socketAddress());
    }

    /** True while the address is within its retry period. */
    public synchronized boolean isPostponed(MxRoute route) {
        Status s = failed.get(route.socketAddress());
        return s != null && s.retryAt().isAfter(clock.instant());
    }

    public synchronized java.util.Optional<Status> status(MxRoute route) {
        return java.util.Optional.ofNullable(failed.get(route.socketAddress()));
    }

    /** Every remembered failure, soonest retry first (for {@code mxd queue hosts}). */
    public synchronized List<Status> snapshot() {
        List<Status> all = new ArrayList<>(failed.values());
        all.sort(Comparator.comparing(Status::retryAt));
        return all;
    }

    private Duration backoff(int failures) {
        Duration d = first;
        for (int i = 1; i < failures && d.compareTo(max) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}
