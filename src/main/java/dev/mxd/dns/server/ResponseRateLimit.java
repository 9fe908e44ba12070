package dev.mxd.dns.server;

/**
 * Response-rate limiting for UDP answers, as BIND's and Knot's RRL: each client network (IPv4
 * /24, IPv6 /56) gets {@code answersPerSecond} answers a second (a burst of as many), and answers
 * over that are dropped, except every {@code slip}-th, which is sent truncated (TC set, no
 * records) so that a real resolver behind the address asks again over TCP, which is never
 * limited. A spoofed source then gets at most that many small answers a second: the server is
 * no amplifier. {@code slip} 0 never sends a truncated answer, 1 sends one for every limited query
 * (Knot's default: a truncated answer is no larger than its query, so nothing is amplified, and a
 * real client asking faster than the limit is served over TCP instead of waiting out a timeout). The
 * first limited answer of a run is a truncated one, the next {@code slip - 1} are dropped.
 *
 * @param answersPerSecond UDP answers a second per client network; 0 turns limiting off
 * @param slip             every slip-th limited answer is sent truncated (0 to 100)
 */
public record ResponseRateLimit(int answersPerSecond, int slip) {

    /** What {@code mxd dns} uses unless told otherwise: 20 answers a second, every limited one truncated (as Knot). */
    public static final ResponseRateLimit DEFAULT = new ResponseRateLimit(20, 1);
    /** No limit. */
    public static final ResponseRateLimit OFF = new ResponseRateLimit(0, 0);

    /** IPv4 clients are counted by /24, as Knot and BIND do. */
    static final int IPV4_PREFIX = 24;
    /** IPv6 clients by /56, Knot's default: a site is often given a /56, so one site is one client. */
    static final int IPV6_PREFIX = 56;

    public ResponseRateLimit {
        if (answersPerSecond < 0 || answersPerSecond > 1_000_000) {
            throw new IllegalArgumentException("the rate limit must be 0 (off) to 1000000 answers a second, not " + answersPerSecond);
        }
        if (slip < 0 || slip > 100) {
            throw new IllegalArgumentException("slip must be 0 (never truncate) to 100, not " + slip);
        }
    }

    public boolean enabled() {
        return answersPerSecond > 0;
    }
}
