package dev.mxd.dns;

import dev.mxd.smtp.EnhancedStatus;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Address;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Turns a mail domain into the mail exchangers a sending MTA must try, in order:
 * RFC 5321 §5.1 (MX, implicit MX, preference order, loop prevention), RFC 7505 (null MX)
 * and RFC 2181 §10.3 (an MX must not name an alias). This class is the one place MX
 * ordering is decided.
 */
public final class MxResolver {

    private static final Logger log = LoggerFactory.getLogger(MxResolver.class);

    private final DnsClient dns;
    private final MxPolicy policy;
    private final Supplier<Random> random;
    // This MTA's own listeners on ports other than the delivery port, by port: a next hop there is this MTA too.
    private final java.util.Map<Integer, java.util.Set<InetAddress>> otherPorts;

    public MxResolver(DnsClient dns, MxPolicy policy) {
        this(dns, policy, ThreadLocalRandom::current);
    }

    MxResolver(DnsClient dns, MxPolicy policy, Supplier<Random> random) {
        this(dns, policy, random, java.util.Map.of());
    }

    private MxResolver(DnsClient dns, MxPolicy policy, Supplier<Random> random, java.util.Map<Integer, java.util.Set<InetAddress>> otherPorts) {
        this.dns = dns;
        this.policy = policy;
        this.random = random;
        this.otherPorts = java.util.Map.copyOf(otherPorts);
    }

    /**
     * This resolver, knowing the addresses at which this MTA listens on ports other than the one it delivers to
     * (by port, as the policy's local addresses are for the delivery port): a relay host or route on such a port
     * with one of them is this MTA, and loops.
     */
    public MxResolver withListenersOnOtherPorts(java.util.Map<Integer, java.util.Set<InetAddress>> listeners) {
        return new MxResolver(dns, policy, random, listeners);
    }

    public MxPolicy policy() {
        return policy;
    }

    /**
     * This resolver for a next hop on {@code port}, another than the one the policy's local names and addresses
     * were counted for (a relay host at {@code [localhost]:10025}, a content filter or a second MTA on this
     * machine): a server there is this one only at an address where this MTA listens on that port, whatever
     * its name (the names are this host's, which another server on it shares).
     */
    public MxResolver onOtherPort(int port) {
        java.util.Set<InetAddress> mine = otherPorts.getOrDefault(port, java.util.Set.of());
        return new MxResolver(dns, policy.withLocalAddresses(mine).withLocalNames(List.of()), random, otherPorts);
    }

    public DnsClient dns() {
        return dns;
    }

    /** Resolves a domain as given by a user or an address; throws IllegalArgumentException if it is not a domain. */
    public MxOutcome resolve(String domain) {
        return resolve(MailDomain.parse(domain));
    }

    public MxOutcome resolve(MailDomain domain) {
        Name name = toName(domain.ascii());
        List<String> warnings = new ArrayList<>();
        if (isLocalhost(domain.ascii())) { // RFC 6761 §6.3: no MX for it, and its address is the loopback one, without DNS
            return implicitMx(domain, name, warnings, dns.deadline(1), DnssecStatus.INSECURE);
        }
        // Each question has its budget (dns.deadline; an exchange's AAAA and A questions share one), and the whole
        // resolution three: a zone that does not answer for the best exchange's addresses leaves the next exchange's
        // lookups their own time, and a domain with many such exchanges still ends (the ones left when the time is up
        // count as failed lookups).
        long deadline = dns.deadline(3);
        DnsAnswer answer = dns.query(name, Type.MX, Math.min(dns.deadline(), deadline));
        if (answer instanceof DnsAnswer.NoSuchName) {
            return new MxOutcome.NoSuchDomain(domain, warnings, answer.dnssec());
        }
        if (answer instanceof DnsAnswer.Failed failed) {
            return new MxOutcome.TemporaryFailure(domain, "MX lookup for " + domain.ascii() + " failed: " + failed.reason(),
                    EnhancedStatus.DNS_FAILURE, List.of(), warnings, failed.dnssec());
        }
        if (answer instanceof DnsAnswer.NoData) {
            return implicitMx(domain, name, warnings, deadline, answer.dnssec());
        }
        return fromMxRecords(domain, ((DnsAnswer.Found) answer).records(), warnings, deadline, answer.dnssec());
    }

    /**
     * One named host as the only exchange, without an MX lookup (a relay host written {@code [host]}, as
     * Postfix's relayhost): its A/AAAA records, in the policy's address order. A host that is one of this
     * host's own names loops.
     */
    public MxOutcome resolveHost(String host) {
        MailDomain domain = MailDomain.parse(host);
        List<String> warnings = new ArrayList<>();
        if (policy.localNames().contains(domain.ascii())) {
            return new MxOutcome.LoopsToSelf(domain, domain.ascii(), List.of(), warnings);
        }
        Addresses found = isLocalhost(domain.ascii()) ? loopback() : addressesOf(toName(domain.ascii()), dns.deadline());
        if (local(found.addresses).isPresent()) {
            return new MxOutcome.LoopsToSelf(domain, domain.ascii(), List.of(), warnings);
        }
        if (!found.addresses.isEmpty()) {
            return new MxOutcome.Routes(domain, true, List.of(new MxHost(0, domain.ascii(), found.addresses, found.warnings,
                    found.status(), found.expansion())), List.of(), warnings, found.status());
        }
        return new MxOutcome.TemporaryFailure(domain, "no address for " + domain.ascii() + ": " + found.emptyReason(domain.ascii()),
                found.temporaryFailure != null ? EnhancedStatus.DNS_FAILURE : EnhancedStatus.UNABLE_TO_ROUTE, List.of(), warnings,
                found.status());
    }

    private static final InetAddress LOOPBACK_V4 = loopbackAddress(new byte[] {127, 0, 0, 1});
    private static final InetAddress LOOPBACK_V6 = loopbackAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

    private static InetAddress loopbackAddress(byte[] octets) {
        try {
            return InetAddress.getByAddress(octets);
        } catch (java.net.UnknownHostException impossible) { // only for a wrong length
            throw new IllegalStateException(impossible);
        }
    }

    /** RFC 6761 §6.3: localhost and the names under it are the loopback addresses, answered without asking DNS. */
    private static boolean isLocalhost(String host) {
        return host.equals("localhost") || host.endsWith(".localhost");
    }

    /** The loopback addresses, in the policy's address order. */
    private Addresses loopback() {
        Addresses out = new Addresses();
        out.noSuchName = false;
        AddressOrder order = policy.addressOrder();
        InetAddress v4 = LOOPBACK_V4;
        InetAddress v6 = LOOPBACK_V6;
        if (order == AddressOrder.IPV4_FIRST || order == AddressOrder.IPV4_ONLY) {
            out.addresses.add(v4);
            if (order.wantsIpv6()) {
                out.addresses.add(v6);
            }
        } else {
            out.addresses.add(v6);
            if (order.wantsIpv4()) {
                out.addresses.add(v4);
            }
        }
        return out;
    }

    /** RFC 5321 §5.1: no MX records, so the domain itself is the exchange, preference 0. */
    private MxOutcome implicitMx(MailDomain domain, Name name, List<String> warnings, long deadline, DnssecStatus mxStatus) {
        if (policy.localNames().contains(domain.ascii())) {
            return new MxOutcome.LoopsToSelf(domain, domain.ascii(), List.of(), warnings, mxStatus);
        }
        Addresses found = isLocalhost(domain.ascii()) ? loopback() : addressesOf(name, deadline);
        DnssecStatus status = mxStatus.and(found.status());
        if (local(found.addresses).isPresent() || localAlias(found).isPresent()) {
            return new MxOutcome.LoopsToSelf(domain, domain.ascii(), List.of(), warnings, mxStatus);
        }
        if (!found.addresses.isEmpty()) {
            MxHost host = new MxHost(0, domain.ascii(), found.addresses, found.warnings, found.status(), found.expansion());
            return new MxOutcome.Routes(domain, true, List.of(host), List.of(), warnings, status);
        }
        if (found.temporaryFailure != null) {
            return new MxOutcome.TemporaryFailure(domain, domain.ascii() + " has no MX records and its address lookup failed: "
                    + found.temporaryFailure, EnhancedStatus.DNS_FAILURE, List.of(), warnings, status);
        }
        if (!found.warnings.isEmpty()) {
            // It has addresses, none usable here (0.0.0.0, IPv4-mapped, or another family than address-order takes): as
            // for an exchange with none usable, the mail waits, and the reason is told, not "no A or AAAA records".
            return new MxOutcome.TemporaryFailure(domain, domain.ascii() + " has no MX records and none of its addresses can be used: "
                    + String.join("; ", found.warnings), EnhancedStatus.UNABLE_TO_ROUTE, List.of(), warnings, status);
        }
        return new MxOutcome.NotMailEnabled(domain, warnings, status);
    }

    private MxOutcome fromMxRecords(MailDomain domain, List<Record> records, List<String> warnings, long deadline,
                                    DnssecStatus mxStatus) {
        List<MXRecord> mx = new ArrayList<>();
        int nullMx = 0;
        for (Record r : records) {
            MXRecord m = (MXRecord) r;
            if (m.getTarget().equals(Name.root)) {
                nullMx++;
                if (m.getPriority() != 0) {
                    warnings.add("null MX with preference " + m.getPriority() + "; RFC 7505 §3 says it must be 0");
                }
            } else {
                mx.add(m);
            }
        }
        if (mx.isEmpty()) {
            return new MxOutcome.NullMx(domain, warnings, mxStatus);
        }
        if (nullMx > 0) {
            warnings.add("ignored a null MX (\".\") listed beside " + mx.size()
                    + " real MX record(s); RFC 7505 §3 says a null MX must stand alone");
        }

        // One entry per exchange, at its best preference.
        Map<String, Integer> best = new LinkedHashMap<>();
        for (MXRecord m : mx) {
            String host = DnsClient.display(m.getTarget());
            Integer seen = best.get(host);
            if (seen != null) {
                warnings.add(host + " is listed more than once; using its lowest preference");
            }
            best.merge(host, m.getPriority(), Math::min);
        }
        List<Map.Entry<String, Integer>> ordered = orderByPreference(best);

        List<SkippedHost> skipped = new ArrayList<>();
        ordered = truncateAtSelf(ordered, skipped);
        if (ordered.isEmpty()) {
            String self = skipped.isEmpty() ? domain.ascii() : skipped.get(0).name();
            return new MxOutcome.LoopsToSelf(domain, self, skipped, warnings, mxStatus);
        }
        if (ordered.size() > policy.maxExchanges()) {
            warnings.add("only the first " + policy.maxExchanges() + " of " + ordered.size() + " mail exchangers are used");
            ordered = ordered.subList(0, policy.maxExchanges());
        }

        List<MxHost> hosts = new ArrayList<>();
        boolean anyTemporary = false;
        int selfAt = Integer.MAX_VALUE; // the preference of an exchange found to be this host by its address
        String self = null;
        for (Map.Entry<String, Integer> e : ordered) {
            String host = e.getKey();
            int preference = e.getValue();
            if (preference >= selfAt) {
                skipped.add(notBetterThanSelf(preference, host, selfAt));
                continue;
            }
            if (isIpLiteral(host)) {
                skipped.add(new SkippedHost(preference, host, "an MX must name a host, not an IP address ("
                        + host + "); RFC 5321 §5.1 and RFC 1035 §3.3.9", SkippedHost.Cause.IP_LITERAL));
                log.warn("MX for {} is an IP literal {}; skipped", domain.ascii(), host);
                continue;
            }
            if (!isLocalhost(host) && dns.now() - deadline >= 0) {
                // The resolution's time ran out before this exchange was looked up: it may be this host, so it and every
                // exchange after it count as failed lookups, none taken from the cache (RFC 5321 §5.1 would drop the worse
                // ones if it were this host, and a backup that relayed to a worse backup could get the mail back).
                anyTemporary = true;
                skipped.add(new SkippedHost(preference, host, "not looked up: the MX resolution's time ran out before "
                        + host + " (better exchanges' lookups did not answer)", SkippedHost.Cause.LOOKUP_FAILED));
                continue;
            }
            // RFC 6761 §6.3: localhost is the loopback address without DNS, as the domain itself or a relay host is.
            Addresses found = isLocalhost(host) ? loopback() : addressesOf(toName(host), deadline);
            // This host first: an alias of it skipped as an alias (strict) would leave the worse exchanges in use, and
            // they relay the mail back here (RFC 5321 §5.1 drops every exchange not better than this host).
            Optional<InetAddress> mine = local(found.addresses);
            Optional<String> myName = localAlias(found);
            if (mine.isEmpty() && myName.isEmpty() && found.alias != null && policy.strictCnames()) {
                skipped.add(new SkippedHost(preference, host, host + " is an alias (CNAME) for " + found.alias
                        + "; RFC 2181 §10.3 says an MX must name the host itself", SkippedHost.Cause.ALIAS));
                continue;
            }
            if (myName.isPresent() || mine.isPresent()) {
                // This host under another name (RFC 5321 §5.1): it and every exchange not better than it are dropped.
                selfAt = preference;
                self = host;
                String why = myName.isPresent()
                        ? host + " is an alias (CNAME) for " + myName.get() + ", a name of this host"
                        : host + " has the address " + dev.mxd.smtp.AddressText.of(mine.get()) + " at which mxd takes mail";
                skipped.add(0, new SkippedHost(preference, host, "this host: " + why + "; never deliver to myself", SkippedHost.Cause.LOCAL));
                for (MxHost h : hosts) {
                    if (h.preference() >= preference) {
                        skipped.add(notBetterThanSelf(h.preference(), h.name(), preference));
                    }
                }
                hosts.removeIf(h -> h.preference() >= preference);
                log.warn("MX {} for {} is this host ({}); it and worse exchanges are not used", host, domain.ascii(), why);
                continue;
            }
            if (found.addresses.isEmpty()) {
                boolean bogus = found.status() == DnssecStatus.BOGUS;
                anyTemporary |= found.temporaryFailure != null || bogus;
                skipped.add(new SkippedHost(preference, host, found.emptyReason(host), bogus ? SkippedHost.Cause.BOGUS
                        : found.temporaryFailure != null ? SkippedHost.Cause.LOOKUP_FAILED : SkippedHost.Cause.NO_ADDRESSES));
                continue;
            }
            List<String> hostWarnings = new ArrayList<>(found.warnings);
            if (found.alias != null) {
                hostWarnings.add(0, host + " is an alias (CNAME) for " + found.alias
                        + "; RFC 2181 §10.3 says an MX must name the host itself (followed anyway)");
                log.warn("MX {} for {} is a CNAME for {}; followed", host, domain.ascii(), found.alias);
            }
            hosts.add(new MxHost(preference, host, found.addresses, hostWarnings, found.status(), found.expansion()));
        }
        int selfPreference = selfAt;
        if (hosts.isEmpty() && self != null && skipped.stream().noneMatch(h -> h.preference() < selfPreference)) {
            // Nothing better than this host was listed: as with a local name, the mail would loop.
            return new MxOutcome.LoopsToSelf(domain, self, skipped, warnings, mxStatus);
        }
        // A better exchange was listed but cannot be tried now (its lookup failed, it has no address): a backup MX
        // holds the mail for it, as when it is down (below: temporary), never bounces it as a loop.
        if (hosts.isEmpty()) {
            // A failed lookup is the directory's trouble, 4.4.3 (RFC 3463 §3.5), as a failed MX lookup is; exchanges that
            // have no usable address are a routing one, 4.4.4.
            String why = anyTemporary ? "some address lookups failed" : "none of them has an address that can be used";
            return new MxOutcome.TemporaryFailure(domain, "no mail exchanger of " + domain.ascii() + " can be tried: "
                    + why, anyTemporary ? EnhancedStatus.DNS_FAILURE : EnhancedStatus.UNABLE_TO_ROUTE, skipped, warnings, mxStatus);
        }
        return new MxOutcome.Routes(domain, false, hosts, skipped, warnings, mxStatus);
    }

    /** Lowest preference first; exchanges of equal preference in a fresh uniform random order each time. */
    private List<Map.Entry<String, Integer>> orderByPreference(Map<String, Integer> best) {
        List<Map.Entry<String, Integer>> all = new ArrayList<>(best.entrySet());
        Collections.shuffle(all, random.get());
        all.sort(Comparator.comparingInt(Map.Entry::getValue)); // stable: the shuffle survives within a preference
        return all;
    }

    /**
     * RFC 5321 §5.1: if this host is an exchange, only strictly better exchanges may be tried;
     * without any, mail would loop back to ourselves.
     */
    private List<Map.Entry<String, Integer>> truncateAtSelf(List<Map.Entry<String, Integer>> ordered, List<SkippedHost> skipped) {
        int selfPreference = Integer.MAX_VALUE;
        for (Map.Entry<String, Integer> e : ordered) {
            if (policy.localNames().contains(e.getKey())) {
                selfPreference = Math.min(selfPreference, e.getValue());
            }
        }
        if (selfPreference == Integer.MAX_VALUE) {
            return ordered;
        }
        List<Map.Entry<String, Integer>> kept = new ArrayList<>();
        for (Map.Entry<String, Integer> e : ordered) {
            if (e.getValue() < selfPreference) {
                kept.add(e);
            } else if (policy.localNames().contains(e.getKey())) {
                skipped.add(0, new SkippedHost(e.getValue(), e.getKey(), "this host (a local name); never deliver to myself",
                        SkippedHost.Cause.LOCAL));
            } else {
                skipped.add(notBetterThanSelf(e.getValue(), e.getKey(), selfPreference));
            }
        }
        return kept;
    }

    /** An exchange dropped because this host is listed at {@code selfPreference} or better (RFC 5321 §5.1). */
    private static SkippedHost notBetterThanSelf(int preference, String host, int selfPreference) {
        return new SkippedHost(preference, host, "not better than this host's own preference " + selfPreference + " (RFC 5321 §5.1)",
                SkippedHost.Cause.NOT_BETTER_THAN_LOCAL);
    }

    /** The first name of this host's that the lookups of a host reached through CNAMEs (an alias of this host is this host). */
    private Optional<String> localAlias(Addresses found) {
        return found.chain.stream().filter(policy.localNames()::contains).findFirst();
    }

    /** The first of {@code addresses} at which this host itself takes mail ({@link MxPolicy#isLocal}), if any. */
    private Optional<InetAddress> local(List<InetAddress> addresses) {
        if (policy.localAddresses().isEmpty()) {
            return Optional.empty();
        }
        return addresses.stream().filter(policy::isLocal).findFirst();
    }

    private static boolean isIpLiteral(String host) {
        return host.startsWith("[") || Address.isDottedQuad(host) || Address.toByteArray(host, Address.IPv6) != null;
    }

    /** A host's usable addresses and what went wrong finding them. */
    private static final class Addresses {
        final List<InetAddress> addresses = new ArrayList<>();
        final List<String> warnings = new ArrayList<>();
        String alias; // the end of a CNAME chain any answer followed: the host is an alias (warned of, or skipped if strict)
        final Set<String> chain = new java.util.LinkedHashSet<>(); // every CNAME target any answer followed
        String temporaryFailure;
        // Where the addresses were found: the end of the chain of each answer that gave addresses (null: the host itself).
        // Only such answers count (a failed one may have stopped part way), and two that disagree name no single base.
        private String expansion;
        private boolean expansionSeen;
        private boolean expansionsDiffer;
        boolean noSuchName = true;
        DnssecStatus status;

        DnssecStatus status() {
            return status == null ? DnssecStatus.INSECURE : status;
        }

        /** The expanded name the addresses were found at, for DANE's TLSA base (RFC 7672 §2.2.2); null if none or two. */
        String expansion() {
            return expansionsDiffer ? null : expansion;
        }

        void foundAt(String end) {
            if (!expansionSeen) {
                expansion = end;
                expansionSeen = true;
            } else if (!java.util.Objects.equals(expansion, end)) {
                expansionsDiffer = true;
            }
        }

        String emptyReason(String host) {
            if (status == DnssecStatus.BOGUS) {
                return "the DNSSEC signatures of " + host + "'s address records do not validate (bogus, RFC 4035 §4.3)"
                        + (temporaryFailure == null ? "" : ": " + temporaryFailure);
            }
            if (temporaryFailure != null) {
                return "address lookup failed for now: " + temporaryFailure;
            }
            if (noSuchName) {
                return host + " does not exist (NXDOMAIN)";
            }
            if (!warnings.isEmpty()) {
                return String.join("; ", warnings); // its only addresses were unusable, and why
            }
            return host + " has no A or AAAA records";
        }
    }

    /**
     * A host's A and AAAA records, within one question's budget ended no later than {@code deadline}
     * (the whole resolution's). When both are asked, the first gets at most half of it: an AAAA question
     * a server never answers (RFC 4074) must not leave the A question without time (Postfix asks each
     * type on its own), and a host still costs one budget, so a resolution outlasts two silent exchanges.
     */
    private Addresses addressesOf(Name host, long deadline) {
        Addresses out = new Addresses();
        List<InetAddress> v4 = new ArrayList<>();
        List<InetAddress> v6 = new ArrayList<>();
        AddressOrder order = policy.addressOrder();
        long hostDeadline = Math.min(dns.deadline(), deadline);
        long start = dns.now();
        long firstDeadline = order.wantsIpv6() && order.wantsIpv4() ? start + (hostDeadline - start) / 2 : hostDeadline;
        if (order.wantsIpv6()) {
            collect(dns.query(host, Type.AAAA, firstDeadline), v6, out, "AAAA");
        }
        if (order.wantsIpv4()) {
            collect(dns.query(host, Type.A, hostDeadline), v4, out, "A");
        }
        // 0.0.0.0 and :: name no host. A connection to them reaches this one: kept when that is mxd, for the loop
        // check to find; otherwise never tried (Exim's default ignore_target_hosts has 0.0.0.0 too).
        for (List<InetAddress> family : List.of(v4, v6)) {
            if (family.removeIf(a -> a.isAnyLocalAddress() && !policy.isLocal(a))) {
                out.warnings.add(DnsClient.display(host) + " has the unspecified address " + (family == v4 ? "0.0.0.0" : "::")
                        + ", which names no host; not used");
            }
        }
        // Postfix smtp_randomize_addresses: spread load over a host's addresses of one family.
        Random rnd = random.get();
        Collections.shuffle(v4, rnd);
        Collections.shuffle(v6, rnd);
        if (order == AddressOrder.IPV4_FIRST || order == AddressOrder.IPV4_ONLY) {
            out.addresses.addAll(v4);
            out.addresses.addAll(v6);
        } else {
            out.addresses.addAll(v6);
            out.addresses.addAll(v4);
        }
        if (out.addresses.isEmpty() && out.temporaryFailure == null && out.warnings.isEmpty() && !out.noSuchName
                && order.wantsIpv4() != order.wantsIpv6()) {
            // Nothing in the one family asked for: say so if the host has addresses of the other, rather than "no A or
            // AAAA records" (a domain of IPv6 hosts only, seen from address-order ipv4-only, is not one without addresses).
            boolean askV6 = !order.wantsIpv6();
            DnsAnswer other = dns.query(host, askV6 ? Type.AAAA : Type.A, hostDeadline);
            if (other instanceof DnsAnswer.Found f && !f.records().isEmpty()) {
                out.warnings.add(DnsClient.display(host) + " has only " + (askV6 ? "IPv6 (AAAA)" : "IPv4 (A)") + " addresses, which address-order "
                        + (askV6 ? "ipv4" : "ipv6") + " does not use");
            }
        }
        if (out.status == DnssecStatus.BOGUS) {
            // RFC 4035 §4.3 and RFC 7672 §2.1.1: an address that failed validation is not used, and neither is the host.
            out.addresses.clear();
        }
        if (!out.addresses.isEmpty() && out.temporaryFailure != null) {
            out.warnings.add("some address lookups failed: " + out.temporaryFailure);
        }
        return out;
    }

    private static void collect(DnsAnswer answer, List<InetAddress> into, Addresses out, String type) {
        if (!answer.aliases().isEmpty() && out.alias == null) {
            out.alias = DnsClient.display(answer.aliases().get(answer.aliases().size() - 1));
        }
        answer.aliases().forEach(a -> out.chain.add(DnsClient.display(a)));
        if (!(answer instanceof DnsAnswer.NoSuchName)) {
            out.noSuchName = false;
        }
        if (!(answer instanceof DnsAnswer.Failed) || answer.dnssec() == DnssecStatus.BOGUS) {
            // A lookup that failed proves nothing about the zone: it must not make a secure host insecure (which
            // would switch DANE off for it, RFC 7672 §2.1). It is told as a warning; a bogus one still beats all.
            out.status = out.status == null ? answer.dnssec() : out.status.and(answer.dnssec());
        }
        if (answer instanceof DnsAnswer.Failed f) {
            out.temporaryFailure = type + " lookup: " + f.reason();
        } else if (answer instanceof DnsAnswer.Found found) {
            out.foundAt(found.aliases().isEmpty() ? null : DnsClient.display(found.aliases().get(found.aliases().size() - 1)));
            for (Record r : found.records()) {
                InetAddress a = r instanceof ARecord ar ? ar.getAddress() : ((AAAARecord) r).getAddress();
                if (r instanceof AAAARecord && a instanceof java.net.Inet4Address) {
                    // ::ffff:a.b.c.d (Java makes it an IPv4 address): not an IPv6 address to connect to, and taken as one
                    // it would reach IPv4 hosts past address-order ipv6-only; skipped as unusable.
                    out.warnings.add(DnsClient.display(r.getName()) + " has the IPv4-mapped AAAA record " + r.rdataToString()
                            + ", which is no IPv6 address; not used");
                    continue;
                }
                if (!into.contains(a)) {
                    into.add(a);
                }
            }
        }
    }

    static Name toName(String ascii) {
        try {
            return Name.fromString(ascii, Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("'" + ascii + "' is not a valid DNS name: " + e.getMessage(), e);
        }
    }
}
