package dev.mxd.dns.server;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.function.LongSupplier;

/**
 * The state of {@link ResponseRateLimit}: one token bucket per client network, or per client
 * network and kind of answer ({@link QueryResponder#rateKey}, as BIND's and NSD's RRL count them,
 * so that a resolver farm asking many different names is not limited as one flood), in a table of
 * fixed size so that a flood from many networks costs no more memory than one. Each bucket is
 * kept as the time its tokens would all be back (a "theoretical arrival time"): an answer is
 * allowed while that time is less than a second ahead, and each allowed answer pushes it on by
 * 1/rate s. A network is looked for in a few neighbouring slots; a new one takes an unused slot
 * there, else the one with the most tokens left, so that a flood from many networks (spoofed
 * sources) makes the table forget the quiet networks first, not the ones being limited.
 *
 * <p>Thread-safe: one limiter serves the threads of every UDP socket (a wildcard listen has one
 * per local address); a bucket's update is one short critical section.
 */
final class ResponseRateLimiter {

    /** What to do with one UDP answer. */
    enum Verdict { ANSWER, DROP, SLIP }

    private static final int SLOTS = 1 << 15;
    private static final int PROBES = 4;
    private static final long SECOND = 1_000_000_000L;
    /** Marks a slot never used: no network key is negative. */
    private static final long EMPTY = -1;

    private final ResponseRateLimit limit;
    private final LongSupplier nanoClock;
    private final long interval;
    private final long[] keys = new long[SLOTS];
    private final long[] due = new long[SLOTS];
    private final int[] limited = new int[SLOTS];

    ResponseRateLimiter(ResponseRateLimit limit, LongSupplier nanoClock) {
        this.limit = limit;
        this.nanoClock = nanoClock;
        this.interval = limit.enabled() ? Math.max(1, SECOND / limit.answersPerSecond()) : 0;
        java.util.Arrays.fill(keys, EMPTY);
    }

    /** Whether an answer to {@code client} goes out whole, is dropped, or goes out truncated; every answer alike. */
    Verdict verdict(InetAddress client) {
        return verdict(client, 0);
    }

    /** The same for an answer of kind {@code response} ({@link QueryResponder#rateKey}; 0: every answer alike): each kind its own bucket. */
    synchronized Verdict verdict(InetAddress client, long response) {
        if (!limit.enabled()) {
            return Verdict.ANSWER;
        }
        long now = nanoClock.getAsLong();
        long key = response == 0 ? network(client) : (network(client) * 0x9E3779B97F4A7C15L ^ response) & Long.MAX_VALUE;
        int slot = slotFor(key, now);
        long start = Math.max(due[slot], now);
        if (start - now <= SECOND - interval) {
            due[slot] = start + interval;
            limited[slot] = 0;
            return Verdict.ANSWER;
        }
        // the first limited answer of a run goes out truncated: a client asking one question after another meets
        // the limit as a TC and asks over TCP, not as a drop that costs it its whole timeout
        int n = limited[slot]++;
        return limit.slip() > 0 && n % limit.slip() == 0 ? Verdict.SLIP : Verdict.DROP;
    }

    private int slotFor(long key, long now) {
        int home = Long.hashCode(key * 0x9E3779B97F4A7C15L) & (SLOTS - 1);
        for (int i = 0; i < PROBES; i++) {
            int s = (home + i) & (SLOTS - 1);
            if (keys[s] == key) {
                return s;
            }
        }
        // Take over an unused slot, else the one with the most tokens left: forgetting it costs the least,
        // and a network being limited (its bucket empty) is the last to be forgotten.
        int victim = home;
        for (int i = 0; i < PROBES; i++) {
            int s = (home + i) & (SLOTS - 1);
            if (keys[s] == EMPTY) {
                victim = s;
                break;
            }
            if (due[s] - due[victim] < 0) {
                victim = s;
            }
        }
        keys[victim] = key;
        due[victim] = now;
        limited[victim] = 0;
        return victim;
    }

    /** The client's network as a number: the first 24 bits of IPv4, the first 56 of IPv6, and which family. */
    static long network(InetAddress client) {
        byte[] a = client.getAddress();
        if (client instanceof Inet4Address) {
            return ((a[0] & 0xFFL) << 16) | ((a[1] & 0xFFL) << 8) | (a[2] & 0xFFL);
        }
        long v = 0;
        for (int i = 0; i < ResponseRateLimit.IPV6_PREFIX / 8; i++) {
            v = (v << 8) | (a[i] & 0xFF);
        }
        return v | (1L << 62); // IPv6 networks never equal an IPv4 one
    }

    /** The network as text for a log line: 192.0.2.0/24, 2001:db8:0:100::/56. */
    static String describe(InetAddress client) {
        byte[] a = client.getAddress();
        int prefix = client instanceof Inet4Address ? ResponseRateLimit.IPV4_PREFIX : ResponseRateLimit.IPV6_PREFIX;
        for (int i = prefix / 8; i < a.length; i++) {
            a[i] = 0;
        }
        try {
            return InetAddress.getByAddress(a).getHostAddress() + "/" + prefix;
        } catch (java.net.UnknownHostException impossible) {
            return client.getHostAddress() + "/" + prefix;
        }
    }
}
