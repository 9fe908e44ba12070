package dev.mxd.dns.server;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.function.LongSupplier;

/**
 * The state of {@link ResponseRateLimit}: one token bucket per client network and response
 * ({@link #responseKey}: identical answers, as BIND's RRL counts them, so that a resolver farm
 * asking many different names is not limited as one flood), in a table of
 * fixed size so that a flood from many networks costs no more memory than one. Each bucket is
 * kept as the time its tokens would all be back (a "theoretical arrival time"): an answer is
 * allowed while that time is less than a second ahead, and each allowed answer pushes it on by
 * 1/rate s. A network is looked for in a few neighbouring slots; a new one takes an unused slot
 * there, else the one with the most tokens left, so that a flood from many networks (spoofed
 * sources) makes the table forget the quiet networks first, not the ones being limited.
 *
 * <p>Not thread-safe: used only by the thread that answers UDP.
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

    /** The same for an answer of kind {@code response} ({@link #responseKey}): each kind has its own bucket. */
    Verdict verdict(InetAddress client, long response) {
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
        limited[slot]++;
        return limit.slip() > 0 && limited[slot] % limit.slip() == 0 ? Verdict.SLIP : Verdict.DROP;
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

    /**
     * What makes answers the same for the limit, from the answer's wire form, as BIND's RRL groups
     * them: an answer with data, or an empty one, by its question's name and type; NXDOMAIN by the
     * zone (the owner of the SOA it carries), so that a flood of random names under one zone is one
     * flood; an error (REFUSED, FORMERR, NOTIMP...) as one kind for the network. Never 0.
     */
    static long responseKey(byte[] answer) {
        if (answer.length < 12) {
            return 1;
        }
        int rcode = answer[3] & 0x0F;
        int questions = ((answer[4] & 0xFF) << 8) | (answer[5] & 0xFF);
        if ((rcode != 0 && rcode != 3) || questions != 1) {
            return 2; // an error, or no question to tell it by
        }
        int at = 12;
        long h = rcode == 3 ? 0x5A5AL : 0xA5A5L;
        int end = skipName(answer, at);
        if (end < 0 || end + 4 > answer.length) {
            return 2;
        }
        int qtype = ((answer[end] & 0xFF) << 8) | (answer[end + 1] & 0xFF);
        if (rcode == 3) { // NXDOMAIN: the zone, from the first authority record's owner (the SOA)
            int answers = ((answer[6] & 0xFF) << 8) | (answer[7] & 0xFF);
            int rr = end + 4;
            for (int i = 0; i < answers && rr >= 0; i++) {
                rr = skipRecord(answer, rr);
            }
            int authority = ((answer[8] & 0xFF) << 8) | (answer[9] & 0xFF);
            if (rr < 0 || authority == 0) {
                return 3; // NXDOMAIN without a SOA: one kind for the network
            }
            at = rr;
        } else {
            h = h * 31 + qtype;
        }
        h = hashName(answer, at, h);
        return h == 0 ? 4 : h & Long.MAX_VALUE | 1L << 60;
    }

    /** A name's labels (compression pointers followed, at most 64 of them), lower case, into {@code h}. */
    private static long hashName(byte[] m, int at, long h) {
        for (int hops = 0; at < m.length && hops < 64; ) {
            int len = m[at] & 0xFF;
            if (len == 0) {
                return h * 31 + 1;
            }
            if ((len & 0xC0) == 0xC0) {
                if (at + 1 >= m.length) {
                    return h;
                }
                at = ((len & 0x3F) << 8) | (m[at + 1] & 0xFF);
                hops++;
                continue;
            }
            for (int i = 1; i <= len && at + i < m.length; i++) {
                int c = m[at + i] & 0xFF;
                h = h * 31 + (c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            h = h * 31 + '.';
            at += len + 1;
        }
        return h;
    }

    /** Where the name at {@code at} ends in the message (a pointer ends it), or -1 when it runs past the end. */
    private static int skipName(byte[] m, int at) {
        while (at < m.length) {
            int len = m[at] & 0xFF;
            if (len == 0) {
                return at + 1;
            }
            if ((len & 0xC0) == 0xC0) {
                return at + 2 <= m.length ? at + 2 : -1;
            }
            at += len + 1;
        }
        return -1;
    }

    /** Where the resource record at {@code at} ends, or -1. */
    private static int skipRecord(byte[] m, int at) {
        int end = skipName(m, at);
        if (end < 0 || end + 10 > m.length) {
            return -1;
        }
        int rdlength = ((m[end + 8] & 0xFF) << 8) | (m[end + 9] & 0xFF);
        return end + 10 + rdlength <= m.length ? end + 10 + rdlength : -1;
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
