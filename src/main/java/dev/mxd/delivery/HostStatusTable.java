package dev.mxd.delivery;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Remembers MX addresses that just failed at the connection level (refused, timeout, bad
 * greeting), like OkHttp's RouteDatabase or Exim's retry database: a failed address is
 * postponed until its retry time, backing off from {@code first} to {@code max}, so one
 * dead primary costs one timeout per retry period instead of one per message.
 *
 * <p>Once the retry time has passed, one delivery at a time may probe the address: it takes
 * the probe lease ({@link #admit}), and every other delivery keeps passing the address over
 * until that probe ends. Success forgets the failure at once, so a host that comes back gets
 * mail again; another failure postpones it with a longer wait. The operator's flush forgets
 * failures ({@link #clear}, {@link #forget}), as Postfix's {@code postqueue -f} makes its
 * queue manager forget dead destinations.
 */
public final class HostStatusTable {

    /** What is known about one postponed address. */
    public record Status(String host, InetSocketAddress address, int failures, String lastError,
                         Instant failedAt, Instant retryAt) {

        /**
         * Whether the address is in its retry period at {@code now}. A failure dated after now was dated before the clock
         * was set back (an NTP step, a virtual machine restored from a snapshot): its retry time is past, or the address
         * would be passed over for the step as well as its wait (a day's step kept a primary that had come back from its
         * mail for a day).
         */
        public boolean postponedAt(Instant now) {
            return retryAt.isAfter(now) && !failedAt.isAfter(now);
        }
    }

    private final Duration first;
    private final Duration max;
    private final int capacity;
    private final InstantSource clock;
    private final Map<InetSocketAddress, Status> failed = new LinkedHashMap<>();
    /**
     * Addresses a delivery is probing now, and since when. A lease is ended by its holder
     * ({@link #endProbe}); one older than {@code max} is taken for lost (its delivery died).
     */
    private final Map<InetSocketAddress, Lease> probing = new HashMap<>();

    /**
     * A probe lease: since when, the thread of the delivery that holds it (a delivery runs on one thread), and the MX
     * name it was taken under.
     */
    private record Lease(Instant since, Thread holder, String host) {}

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

    /**
     * Records a connection-level failure and returns the new status. The wait doubles only for a failure that
     * tells something new: the first, a probe's (the lease holder's, on its thread), or one after the retry time. Failures of
     * deliveries that were already connecting when the address was postponed (twenty at once to a host that
     * hung) keep the wait it has: each of them doubled it, and seven took it to the hour at once.
     */
    public synchronized Status failed(MxRoute route, String error) {
        InetSocketAddress key = route.socketAddress();
        Instant now = clock.instant();
        Status known = failed.get(key);
        Lease lease = probing.get(key);
        boolean probe = lease != null && lease.holder() == Thread.currentThread();
        if (known != null && known.postponedAt(now) && !probe) {
            Status s = new Status(known.host(), key, known.failures(), error, known.failedAt(), known.retryAt());
            failed.put(key, s);
            return s;
        }
        Status before = failed.remove(key);
        int failures = before == null ? 1 : before.failures() + 1;
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

    /** Whether a delivery may connect to an address now, and on what terms. */
    public enum Admission {
        /** No failure is known: connect. */
        HEALTHY,
        /** Its retry time has passed and this delivery holds the probe lease: connect, then {@link #endProbe}. */
        PROBE,
        /** In its retry period, or another delivery is probing it: pass it over. */
        POSTPONED
    }

    /**
     * Decides for one delivery whether it may connect to {@code route}. {@code lastResort}: every
     * other address of the domain has been tried in this attempt and failed, so a postponed
     * address may be probed before its retry time, still by one delivery at a time.
     */
    public synchronized Admission admit(MxRoute route, boolean lastResort) {
        InetSocketAddress key = route.socketAddress();
        Status s = failed.get(key);
        if (s == null) {
            return Admission.HEALTHY;
        }
        Instant now = clock.instant();
        Lease lease = probing.get(key);
        if (lease != null && lease.holder() == Thread.currentThread() && !lease.host().equals(route.host())) {
            return Admission.PROBE; // this delivery's own probe, reached under another MX name on the same address
        }
        if (lease != null && lease.since().plus(max).isAfter(now) && !lease.since().isAfter(now)) {
            return Admission.POSTPONED; // someone else's probe: wait for its result (one taken after now: lost to a clock step)
        }
        if (lastResort || !s.postponedAt(now)) {
            probing.put(key, new Lease(now, Thread.currentThread(), route.host()));
            return Admission.PROBE;
        }
        return Admission.POSTPONED;
    }

    /** Ends this delivery's probe of {@code route}, after {@link #failed} or {@link #succeeded} or without a try. */
    public synchronized void endProbe(MxRoute route) {
        probing.remove(route.socketAddress());
    }

    /** Forgets one address's failures (the operator's flush of a message to it). */
    public synchronized void forget(MxRoute route) {
        failed.remove(route.socketAddress());
    }

    /** Forgets every failure (the operator's flush of the whole queue). Probes under way still report. */
    public synchronized void clear() {
        failed.clear();
    }

    /**
     * Forgets the failures of the addresses {@code host} names ({@code mxd queue hosts --reset HOST}):
     * an MX host name (any case, with or without the final dot), an address ({@code 192.0.2.1},
     * {@code 2001:db8::1}), an address with its port ({@code 192.0.2.1:25}, {@code [2001:db8::1]:25}),
     * or the three as {@code mxd queue hosts} lists them ({@code mx1.example.com[192.0.2.1]:25}).
     * Returns what was forgotten, empty when nothing matched. Probes under way still report.
     */
    public synchronized List<Status> forget(String host) {
        String wanted = host.trim().toLowerCase(java.util.Locale.ROOT);
        if (wanted.endsWith(".") && wanted.length() > 1) {
            wanted = wanted.substring(0, wanted.length() - 1);
        }
        List<Status> gone = new ArrayList<>();
        for (java.util.Iterator<Status> it = failed.values().iterator(); it.hasNext(); ) {
            Status s = it.next();
            if (names(s, wanted)) {
                gone.add(s);
                it.remove();
            }
        }
        return gone;
    }

    /** Forgets every failure ({@code mxd queue hosts --reset}) and returns what was forgotten. */
    public synchronized List<Status> forgetAll() {
        List<Status> gone = snapshot();
        failed.clear();
        return gone;
    }

    private static boolean names(Status s, String wanted) {
        String host = s.host().toLowerCase(java.util.Locale.ROOT);
        String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        String address = dev.mxd.smtp.AddressText.of(s.address().getAddress());
        String bracketed = "[" + address + "]";
        String port = ":" + s.address().getPort();
        String withPort = (address.indexOf(':') >= 0 ? bracketed : address) + port;
        return List.of(name, address, bracketed, withPort, bracketed + port,
                        name + bracketed + port, host + bracketed + port) // the last two: as mxd queue hosts lists it
                .contains(wanted) || sameAddress(wanted, s, name, host);
    }

    /** {@code NAME[ADDRESS]:PORT}, with the name and the port optional; the address in brackets. */
    private static final java.util.regex.Pattern BRACKETED = java.util.regex.Pattern.compile("(.*)\\[([^\\]]+)](?::(\\d+))?");

    /**
     * An IPv6 address written another way ({@code 0:0:0:0:0:0:0:1} for {@code ::1}), bare, in brackets, with the port
     * after them, or with the host's name before them, as the forms above take it; never a DNS lookup.
     */
    private static boolean sameAddress(String wanted, Status s, String name, String host) {
        String literal = wanted;
        java.util.regex.Matcher m = BRACKETED.matcher(wanted);
        if (m.matches()) {
            boolean nameFits = m.group(1).isEmpty() || m.group(1).equals(name) || m.group(1).equals(host);
            boolean portFits = m.group(3) == null || m.group(3).equals(String.valueOf(s.address().getPort()));
            if (!nameFits || !portFits) {
                return false;
            }
            literal = m.group(2);
        }
        java.net.InetAddress address = s.address().getAddress();
        if (!literal.matches("[0-9a-f:.]+") || literal.indexOf(':') < 0) {
            return false; // not an IPv6 literal (an IPv4 address has one spelling, compared above)
        }
        try {
            // In brackets the JDK parses an IPv6 literal or fails: it never asks DNS.
            return java.net.InetAddress.getByName("[" + literal + "]").equals(address);
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    public synchronized java.util.Optional<Status> status(MxRoute route) {
        return java.util.Optional.ofNullable(failed.get(route.socketAddress()));
    }

    /** The failure of {@code route} while its retry time has not come (deliveries pass it over); empty otherwise. */
    public synchronized java.util.Optional<Status> postponed(MxRoute route) {
        Instant now = clock.instant();
        return status(route).filter(s -> s.postponedAt(now));
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
