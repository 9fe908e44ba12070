package dev.mxd.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Type;

/**
 * The name an SMTP client goes by, as Postfix's smtpd finds it: the PTR names of its address
 * (the reverse lookup), each kept only when its own A records (AAAA for an IPv6 client) include
 * that address again (forward-confirmed reverse DNS, FCrDNS). Anyone can publish any PTR name for
 * their own addresses; only the forward check shows that the name's owner agrees. A client
 * without such a name has none ({@code unknown} in the log). Bounded: at most {@link #MAX_NAMES}
 * PTR names are checked, and every question shares one deadline. DNS trouble of any kind
 * (SERVFAIL, a timeout, no answer) means no name, never an error.
 */
public final class ForwardConfirmedNames {

    /** PTR names checked at most: an address with more is unusual, and each costs a question. */
    static final int MAX_NAMES = 4;

    /** Host names only (letters, digits, hyphens), and not a dotted number that only looks like a name. */
    private static final Pattern HOST_NAME = Pattern.compile("(?=.*[a-z-][a-z0-9-]*$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*"
            + "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /** One DNS question answered by a deadline ({@link System#nanoTime()}): {@link DnsClient#query(Name, int, long)}. */
    @FunctionalInterface
    public interface Questions {
        DnsAnswer ask(Name name, int type, long deadline);
    }

    /** Thrown by {@link #cached}'s questions when an answer is not in the cache; no stack, it is not an error. */
    private static final class NotCached extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotCached() {
            super("not cached", null, false, false);
        }
    }

    private static final NotCached NOT_CACHED = new NotCached();

    private final Questions dns;
    private final Questions cached;
    private final LongSupplier nanoClock;
    private final Duration bound;

    /** Names by {@code dns}, each lookup (all its questions) taking at most {@code bound}. */
    public ForwardConfirmedNames(DnsClient dns, Duration bound) {
        this(dns::query, (name, type, deadline) -> dns.cached(name, type), System::nanoTime, bound);
    }

    /**
     * @param cached answers the cache holds, null for one it does not ({@link DnsClient#cached}); never blocks
     */
    ForwardConfirmedNames(Questions dns, Questions cached, LongSupplier nanoClock, Duration bound) {
        this.dns = dns;
        this.cached = cached;
        this.nanoClock = nanoClock;
        this.bound = bound;
    }

    /** The client's confirmed name (lowercase, no final dot), or empty. Blocks for at most the bound. */
    public Optional<String> name(InetAddress client) {
        return name(client, dns);
    }

    /**
     * The client's name as {@link #name} finds it, when every answer that takes is cached: without blocking, so
     * a client that connects again and again is named on the spot. Empty when some question would have to be asked.
     */
    public Optional<Optional<String>> cachedName(InetAddress client) {
        try {
            return Optional.of(name(client, (name, type, deadline) -> {
                DnsAnswer a = cached.ask(name, type, deadline);
                if (a == null) {
                    throw NOT_CACHED;
                }
                return a;
            }));
        } catch (NotCached e) {
            return Optional.empty();
        }
    }

    private Optional<String> name(InetAddress client, Questions dns) {
        long deadline = nanoClock.getAsLong() + bound.toNanos();
        if (!(dns.ask(ReverseMap.fromAddress(client), Type.PTR, deadline) instanceof DnsAnswer.Found ptr)) {
            return Optional.empty();
        }
        int type = client instanceof Inet4Address ? Type.A : Type.AAAA;
        int checked = 0;
        for (Record r : ptr.records()) {
            if (!(r instanceof PTRRecord p)) {
                continue;
            }
            String name = p.getTarget().toString(true).toLowerCase(Locale.ROOT);
            if (!HOST_NAME.matcher(name).matches()) {
                continue;
            }
            if (checked++ == MAX_NAMES || nanoClock.getAsLong() - deadline >= 0) {
                break;
            }
            if (dns.ask(p.getTarget(), type, deadline) instanceof DnsAnswer.Found forward
                    && forward.records().stream().anyMatch(a -> client.equals(address(a)))) {
                return Optional.of(name);
            }
        }
        return Optional.empty();
    }

    private static InetAddress address(Record r) {
        if (r instanceof ARecord a) {
            return a.getAddress();
        }
        return r instanceof AAAARecord aaaa ? aaaa.getAddress() : null;
    }
}
