package dev.mxd.dns;

import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Asks upstream DNS servers one question at a time and returns what they said as a
 * {@link DnsAnswer}. Truncated UDP answers are retried over TCP (RFC 7766), CNAME chains
 * are followed to a bounded length, and answers are cached for their TTL (RFC 2308 for
 * negative ones). Every question ends within {@link DnsSettings#deadline()}.
 */
public final class DnsClient {

    /** EDNS0 UDP payload we advertise: the DNS flag day 2020 value, safe from fragmentation. */
    static final int EDNS_UDP_PAYLOAD = 1232;

    private final DnsSettings settings;
    private final List<SimpleResolver> resolvers = new ArrayList<>();
    private final DnsCache cache;
    private final LongSupplier nanoClock;
    private final LongAdder queriesSent = new LongAdder();

    public DnsClient(DnsSettings settings) {
        this(settings, System::nanoTime);
    }

    DnsClient(DnsSettings settings, LongSupplier nanoClock) {
        this.settings = settings;
        this.nanoClock = nanoClock;
        this.cache = new DnsCache(settings.cacheSize(), nanoClock);
        for (InetSocketAddress server : settings.servers()) {
            SimpleResolver r = new SimpleResolver(server);
            r.setTimeout(settings.timeout());
            r.setEDNS(0, EDNS_UDP_PAYLOAD, 0, List.of());
            resolvers.add(r);
        }
    }

    public DnsSettings settings() {
        return settings;
    }

    /** Answers from the cache. */
    public long cacheHits() {
        return cache.hits();
    }

    /** Questions the cache could not answer. */
    public long cacheMisses() {
        return cache.misses();
    }

    /** Messages sent to upstream servers (each try counts). */
    public long queriesSent() {
        return queriesSent.sum();
    }

    /** Asks for records of {@code type} at {@code name}, following CNAMEs. Never throws for DNS trouble. */
    public DnsAnswer query(Name name, int type) {
        return query(name, type, deadline());
    }

    /** The {@link System#nanoTime()} by which a question asked now must be answered. */
    public long deadline() {
        return nanoClock.getAsLong() + settings.deadline().toNanos();
    }

    /** As {@link #query(Name, int)}, giving up at {@code deadline} (a {@link #deadline()} shared by several questions). */
    public DnsAnswer query(Name name, int type, long deadline) {
        DnsAnswer cached = cache.get(name, type);
        if (cached != null) {
            return cached;
        }
        List<Name> aliases = new ArrayList<>();
        long ttl = settings.maxTtl().toSeconds();
        Name current = name;
        while (true) {
            Exchange ex = exchange(current, type, deadline);
            if (ex.failure != null) {
                return new DnsAnswer.Failed(name, aliases, ex.failure);
            }
            Message response = ex.response;
            Name owner = current;
            while (true) {
                List<Record> found = new ArrayList<>();
                CNAMERecord alias = null;
                for (Record r : response.getSection(Section.ANSWER)) {
                    if (!r.getName().equals(owner)) {
                        continue;
                    }
                    if (r.getType() == type) {
                        found.add(r);
                    } else if (r.getType() == Type.CNAME && type != Type.CNAME) {
                        alias = (CNAMERecord) r;
                    }
                }
                if (!found.isEmpty()) {
                    for (Record r : found) {
                        ttl = Math.min(ttl, r.getTTL());
                    }
                    DnsAnswer answer = new DnsAnswer.Found(name, aliases, found);
                    cache.put(name, type, answer, ttl);
                    return answer;
                }
                if (alias == null) {
                    break;
                }
                Name target = alias.getTarget();
                if (target.equals(name) || aliases.contains(target)) {
                    return new DnsAnswer.Failed(name, aliases, "CNAME loop at " + display(owner) + " -> " + display(target));
                }
                if (aliases.size() >= settings.maxCnameChain()) {
                    return new DnsAnswer.Failed(name, aliases, "CNAME chain from " + display(name)
                            + " is longer than " + settings.maxCnameChain() + " aliases");
                }
                aliases.add(target);
                ttl = Math.min(ttl, alias.getTTL());
                owner = target;
            }
            SOARecord soa = soaOf(response);
            long negativeTtl = soa == null ? 0 : Math.min(ttl, Math.min(soa.getTTL(), soa.getMinimum()));
            if (response.getRcode() == Rcode.NXDOMAIN) {
                DnsAnswer answer = new DnsAnswer.NoSuchName(name, aliases);
                cache.put(name, type, answer, negativeTtl);
                return answer;
            }
            if (soa != null) {
                DnsAnswer answer = new DnsAnswer.NoData(name, aliases);
                cache.put(name, type, answer, negativeTtl);
                return answer;
            }
            if (!owner.equals(current)) {
                current = owner; // the server stopped at the edge of its data; ask for the alias target
                continue;
            }
            if (isReferral(response)) {
                return new DnsAnswer.Failed(name, aliases, ex.server + " referred the question for " + display(current)
                        + " elsewhere instead of answering it (not a recursive resolver and not authoritative)");
            }
            // NODATA without SOA: RFC 2308 §5 says not to cache it.
            return new DnsAnswer.NoData(name, aliases);
        }
    }

    private static boolean isReferral(Message response) {
        return !response.getHeader().getFlag(Flags.AA)
                && response.getSection(Section.AUTHORITY).stream().anyMatch(r -> r.getType() == Type.NS);
    }

    private static SOARecord soaOf(Message response) {
        for (Record r : response.getSection(Section.AUTHORITY)) {
            if (r instanceof SOARecord soa) {
                return soa;
            }
        }
        return null;
    }

    private record Exchange(Message response, String server, String failure) {}

    /** One question to the servers in turn, round after round, until an answer or the deadline. */
    private Exchange exchange(Name qname, int type, long deadline) {
        String last = "no DNS server answered";
        for (int round = 0; round < settings.attempts(); round++) {
            for (SimpleResolver resolver : resolvers) {
                String server = describe(resolver.getAddress());
                long remaining = deadline - nanoClock.getAsLong();
                if (remaining <= 0) {
                    return new Exchange(null, server, "no answer in time for " + display(qname) + "/"
                            + Type.string(type) + " (" + last + ")");
                }
                Message query = Message.newQuery(Record.newRecord(qname, type, DClass.IN));
                queriesSent.increment();
                try {
                    long wait = Math.min(remaining, settings.timeout().toNanos() * 2 + 100_000_000L);
                    Message response = resolver.sendAsync(query).toCompletableFuture().get(wait, TimeUnit.NANOSECONDS);
                    int rcode = response.getRcode();
                    if (response.getHeader().getFlag(Flags.TC)) {
                        last = server + " sent a truncated answer even over TCP";
                    } else if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                        return new Exchange(response, server, null);
                    } else {
                        last = server + " answered " + Rcode.string(rcode) + " for " + display(qname) + "/" + Type.string(type);
                    }
                } catch (TimeoutException e) {
                    last = "timeout waiting for " + server;
                } catch (ExecutionException e) {
                    last = describe(e.getCause(), server);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Exchange(null, server, "interrupted while waiting for " + server);
                }
            }
        }
        return new Exchange(null, null, last);
    }

    private String describe(Throwable cause, String server) {
        if (cause instanceof SocketTimeoutException || cause instanceof TimeoutException
                || (cause != null && cause.getClass().getSimpleName().contains("Timeout"))) {
            return "timeout after " + settings.timeout().toMillis() + " ms waiting for " + server;
        }
        if (cause instanceof PortUnreachableException) {
            return "no DNS server listening at " + server;
        }
        String msg = cause == null ? "unknown error" : cause.getMessage();
        return "error talking to " + server + ": " + (msg == null ? cause.getClass().getSimpleName() : msg);
    }

    static String describe(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + a.getPort() : host + ":" + a.getPort();
    }

    static String display(Name name) {
        String s = name.toString(true);
        return s.isEmpty() ? "." : s.toLowerCase(java.util.Locale.ROOT);
    }
}
