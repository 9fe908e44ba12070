package dev.mxd.dns;

import dev.mxd.config.DnssecMode;
import dev.mxd.config.HostPort;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;

/**
 * How mxd talks to DNS: which servers, how long it waits, how far it follows aliases,
 * and how much it remembers. Every bound here keeps one resolution finite.
 *
 * @param servers        upstream servers, tried in order
 * @param timeout        wait for one answer from one server
 * @param attempts       rounds over all servers before giving up
 * @param deadline       the most one question may take, all rounds together
 * @param maxCnameChain  aliases followed before the chain counts as broken
 * @param cacheSize      answers remembered (least recently used go first)
 * @param maxTtl         no answer is remembered longer than this, whatever its TTL
 * @param dnssec         whether answers are validated ({@code dns.dnssec}); off unless configured
 * @param trustAnchors   DS and DNSKEY records validation starts from; empty means the root zone's anchors
 */
public record DnsSettings(List<InetSocketAddress> servers, Duration timeout, int attempts, Duration deadline,
                          int maxCnameChain, int cacheSize, Duration maxTtl, DnssecMode dnssec, List<Record> trustAnchors) {

    /** Settings that do not validate DNSSEC. */
    public DnsSettings(List<InetSocketAddress> servers, Duration timeout, int attempts, Duration deadline,
                       int maxCnameChain, int cacheSize, Duration maxTtl) {
        this(servers, timeout, attempts, deadline, maxCnameChain, cacheSize, maxTtl, DnssecMode.OFF, List.of());
    }

    public static final int DEFAULT_PORT = 53;

    public DnsSettings {
        servers = List.copyOf(servers);
        trustAnchors = List.copyOf(trustAnchors);
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("no DNS servers: give at least one HOST[:PORT]");
        }
        if (attempts < 1 || maxCnameChain < 1 || cacheSize < 0) {
            throw new IllegalArgumentException("attempts and CNAME chain must be at least 1, cache size not negative");
        }
    }

    /** These settings with DNSSEC handled as {@code mode}, from {@code anchors} (empty: the root's). */
    public DnsSettings withDnssec(DnssecMode mode, List<Record> anchors) {
        return new DnsSettings(servers, timeout, attempts, deadline, maxCnameChain, cacheSize, maxTtl, mode, anchors);
    }

    /** Defaults for the given servers: 3 s per try, 2 rounds, 10 s in all, 8 aliases, 10,000 answers, 1 day; no DNSSEC. */
    public static DnsSettings of(List<InetSocketAddress> servers) {
        return new DnsSettings(servers, Duration.ofSeconds(3), 2, Duration.ofSeconds(10), 8, 10_000, Duration.ofDays(1));
    }

    /** Defaults with the servers of the system's resolver configuration (/etc/resolv.conf). */
    public static DnsSettings system() {
        List<InetSocketAddress> servers = ResolverConfig.getCurrentConfig().servers();
        if (servers.isEmpty()) {
            servers = List.of(new InetSocketAddress("127.0.0.1", DEFAULT_PORT));
        }
        return of(servers);
    }

    /** Parses HOST[:PORT], [V6]:PORT or a bare IPv6 address (IP addresses only); the port defaults to 53. */
    public static InetSocketAddress parseServer(String text) {
        return HostPort.parse(text, DEFAULT_PORT).socketAddress();
    }
}
