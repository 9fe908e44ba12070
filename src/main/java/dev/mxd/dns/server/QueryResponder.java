package dev.mxd.dns.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Turns one query in wire format into the authoritative answer in wire format: the whole
 * protocol decision, apart from sockets, so it can be tested on bytes. Thread-safe; the zones
 * are immutable, and the only state is the throttle of its warnings.
 */
public final class QueryResponder {

    /** How the query came, which bounds the answer's size. */
    public enum Transport { UDP, TCP }

    /** Our EDNS UDP payload size (DNS flag day 2020): large enough for most answers, small enough not to fragment. */
    public static final int EDNS_PAYLOAD = 1232;
    /** Without EDNS a UDP message is at most 512 octets (RFC 1035 §4.2.1); EDNS never advertises less (RFC 6891 §6.2.5). */
    public static final int PLAIN_UDP_PAYLOAD = 512;
    static final int TCP_MESSAGE_LIMIT = 65_535;
    /** Our OPT record without options: root owner, type, class, TTL, and a zero rdata length (RFC 6891 §6.1.2). */
    private static final int EMPTY_OPT_LENGTH = 11;
    /** Aliases followed inside a zone before the chain is cut short (it may loop). */
    static final int MAX_CNAME_CHAIN = 16;

    /** TC in the third octet of the header (RFC 1035 §4.1.1). */
    private static final int TC_BIT = 0x02;

    private static final Logger log = LoggerFactory.getLogger(QueryResponder.class);

    /** Replaced whole by {@link #replaceZones} (SIGHUP); a query in progress may finish on the old set. */
    private volatile Zones zones;
    /** Malformed packets are the client's doing: logged at most once per interval, with a count. */
    private final ThrottledWarning badPackets = new ThrottledWarning(log);
    /** A query this server cannot answer is a bug here: its stack trace, but not once per packet. */
    private final ThrottledWarning bugs = new ThrottledWarning(log);

    public QueryResponder(Zones zones) {
        this.zones = zones;
    }

    /** Answers from {@code next} from now on. */
    void replaceZones(Zones next) {
        this.zones = next;
    }

    /** The zones answered from now. */
    Zones zones() {
        return zones;
    }

    /**
     * The answer to {@code length} bytes of {@code buffer} from {@code client}, or empty when
     * nothing should be sent: too short for a header, or itself a response (QR set; answering it
     * could start a loop). A query that does not parse, or holds fewer records than its header
     * counts, gets FORMERR built from its header alone (RFC 1035 §4.1.1). Each is logged, at most
     * once per {@link ThrottledWarning#DEFAULT_INTERVAL}.
     */
    public Optional<byte[]> respond(byte[] buffer, int length, Transport transport, InetSocketAddress client) {
        return respondRated(buffer, length, transport, client).map(Rated::wire);
    }

    /** An answer's wire form and its kind for the response-rate limit ({@link #rateKey}). */
    record Rated(byte[] wire, long rateKey) {}

    /** The kind of every error answer (FORMERR, NOTIMP, BADVERS, REFUSED, SERVFAIL): one for the rate limit. */
    private static final long ERROR_KIND = kind("error", null, 0);

    /** As {@link #respond}, with the answer's kind for the rate limit, known from the message as built. */
    Optional<Rated> respondRated(byte[] buffer, int length, Transport transport, InetSocketAddress client) {
        if (transport == Transport.UDP && client.getPort() == 0) {
            // no answer can go to port 0 (the JDK refuses to send there): a forged or broken source, dropped as NSD and
            // Unbound drop it, before it costs a parse, a rate-limit token and a warning that reads like a socket fault
            badPackets.warn(() -> "ignored a UDP query from " + describe(client) + ": source port 0");
            return Optional.empty();
        }
        if (length < Header.LENGTH) {
            badPackets.warn(() -> "ignored a " + length + "-octet " + transport + " message from " + describe(client)
                    + ": shorter than a DNS header");
            return Optional.empty();
        }
        byte[] wire = Arrays.copyOf(buffer, length);
        Header header;
        try {
            header = new Header(wire);
        } catch (IOException e) {
            return Optional.empty(); // 12 octets always make a header
        }
        if (header.getFlag(Flags.QR)) {
            badPackets.warn(() -> "ignored a DNS response (QR set) sent to this server by " + describe(client));
            return Optional.empty();
        }
        Message query;
        try {
            query = new Message(wire);
        } catch (IOException | RuntimeException malformed) {
            return Optional.of(new Rated(formErr(header, client, malformed.getMessage()), ERROR_KIND));
        }
        for (int section = Section.QUESTION; section <= Section.ADDITIONAL; section++) {
            // dnsjava stops quietly at a record cut short when TC is set; such a query is malformed all the same
            if (query.getSection(section).size() != header.getCount(section)) {
                return Optional.of(new Rated(formErr(header, client, Section.string(section) + " section holds "
                        + query.getSection(section).size() + " of the " + header.getCount(section) + " records its header counts"),
                        ERROR_KIND));
            }
        }
        try {
            return Optional.of(respond(query, transport));
        } catch (RuntimeException bug) {
            bugs.warn(() -> "cannot answer " + ThrottledWarning.printable(String.valueOf(query.getQuestion())) + " from "
                    + describe(client) + ": " + bug, bug);
            // RFC 6891 §7: a query with an OPT gets one back, this answer too
            List<Record> opts = opts(query);
            Optional<OPTRecord> opt = opts.size() == 1 ? Optional.of((OPTRecord) opts.get(0)) : Optional.empty();
            return Optional.of(new Rated(error(header, Optional.ofNullable(query.getQuestion()), opt, Rcode.SERVFAIL).toWire(),
                    ERROR_KIND));
        }
    }

    private byte[] formErr(Header header, InetSocketAddress client, String reason) {
        badPackets.warn(() -> "malformed query from " + describe(client) + " answered FORMERR: "
                + ThrottledWarning.printable(String.valueOf(reason)));
        return error(header, Optional.empty(), Optional.empty(), Rcode.FORMERR).toWire();
    }

    /**
     * The truncated form of an answer (TC set; header, question and OPT only), sent instead of the
     * answer when the rate limit slips one through: the client is told to ask again over TCP.
     */
    static byte[] truncated(byte[] answer) {
        try {
            return truncatedCopy(new Message(answer));
        } catch (IOException ownAnswer) {
            throw new IllegalStateException("cannot parse an answer this server built", ownAnswer);
        }
    }

    private static String describe(InetSocketAddress client) {
        String h = client.getAddress().getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + client.getPort();
    }

    /** The query's OPT records: one for EDNS, none without it, more a malformed query (RFC 6891 §6.1.1). */
    private static List<Record> opts(Message query) {
        return query.getSection(Section.ADDITIONAL).stream().filter(r -> r.getType() == Type.OPT).toList();
    }

    private Rated respond(Message query, Transport transport) {
        Header header = query.getHeader();
        Optional<Record> question = Optional.ofNullable(query.getQuestion());
        List<Record> opts = opts(query);
        if (opts.size() > 1) {
            return new Rated(error(header, question, Optional.empty(), Rcode.FORMERR).toWire(), ERROR_KIND); // RFC 6891 §6.1.1
        }
        Optional<OPTRecord> opt = opts.stream().map(OPTRecord.class::cast).findFirst();
        if (header.getOpcode() != Opcode.QUERY) {
            return new Rated(error(header, question, opt, Rcode.NOTIMP).toWire(), ERROR_KIND);
        }
        if (header.getCount(Section.QUESTION) != 1) {
            return new Rated(error(header, Optional.empty(), opt, Rcode.FORMERR).toWire(), ERROR_KIND);
        }
        if (opt.isPresent() && opt.get().getVersion() > 0) {
            return new Rated(error(header, question, opt, Rcode.BADVERS).toWire(), ERROR_KIND); // RFC 6891 §6.1.3
        }
        Record q = question.orElseThrow();
        if (q.getDClass() != DClass.IN || q.getType() == Type.AXFR || q.getType() == Type.IXFR) {
            return new Rated(error(header, question, opt, Rcode.REFUSED).toWire(), ERROR_KIND); // only IN data; no zone transfers
        }
        Zones current = zones; // read once: a reload meanwhile does not mix two sets of zones in one answer
        Optional<ServedZone> zone = current.zoneFor(q.getName());
        if (q.getType() == Type.DS && zone.isPresent() && zone.get().origin().equals(q.getName()) && q.getName().labels() > 1) {
            // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1): when this server also serves the parent,
            // the parent answers, not the child's apex (which would deny its own DS and break the chain).
            Optional<ServedZone> parent = current.zoneFor(new Name(q.getName(), 1));
            if (parent.isPresent()) {
                zone = parent;
            }
        }
        if (zone.isEmpty()) {
            Message refused = error(header, question, Optional.empty(), Rcode.REFUSED);
            // RFC 8914 §4.21: say why, as Knot does, when the client speaks EDNS.
            opt.ifPresent(o -> refused.addRecord(responseOpt(o, Rcode.REFUSED,
                    List.of(new ExtendedErrorCodeOption(ExtendedErrorCodeOption.NOT_AUTHORITATIVE))), Section.ADDITIONAL));
            return new Rated(refused.toWire(), ERROR_KIND);
        }
        boolean dnssec = zone.get().signed() && opt.map(o -> (o.getFlags() & ExtendedFlags.DO) != 0).orElse(false);
        int limit = sizeLimit(opt, transport);
        Message response = answer(header, q, current, zone.get(), dnssec, limit - (opt.isPresent() ? EMPTY_OPT_LENGTH : 0));
        opt.ifPresent(o -> response.addRecord(responseOpt(o, Rcode.NOERROR, List.of()), Section.ADDITIONAL));
        return new Rated(render(response, limit), rateKey(response, current));
    }

    /**
     * The authoritative answer (RFC 1034 §4.3.2): data, or an alias chain followed inside the
     * zone, or a referral, or a negative answer with the zone's SOA (RFC 2308 §3). With
     * {@code dnssec} (DO set, zone signed) every RRset in the answer and authority sections comes
     * with its RRSIGs, and NSEC or NSEC3 records prove what does not exist (RFC 4035 §3.1).
     */
    private Message answer(Header queryHeader, Record question, Zones zones, ServedZone zone, boolean dnssec, int room) {
        Message response = reply(queryHeader, Optional.of(question), Rcode.NOERROR);
        response.getHeader().setFlag(Flags.AA);
        Set<Name> needAddresses = new LinkedHashSet<>();
        Name name = question.getName();
        int type = question.getType();
        Set<Name> visited = new LinkedHashSet<>();
        List<RRset> proofs = new ArrayList<>();
        for (int hop = 0; hop <= MAX_CNAME_CHAIN && visited.add(name); hop++) {
            ZoneLookup found = zone.lookup(name, type);
            boolean expanded = dnssec && !zone.exists(name); // an answer from a wildcard (RFC 4592 §3.3.1)
            if (found instanceof ZoneLookup.Found f) {
                add(response, f.rrset(), Section.ANSWER, needAddresses, dnssec);
                if (expanded) {
                    proofs.addAll(Denial.wildcardAnswer(zone, name));
                }
                break;
            } else if (found instanceof ZoneLookup.Signatures sigs) {
                sigs.rrsigs().forEach(sig -> response.addRecord(sig, Section.ANSWER));
                if (expanded) {
                    proofs.addAll(Denial.wildcardAnswer(zone, name));
                }
                break;
            } else if (found instanceof ZoneLookup.Alias a) {
                add(response, a.cname(), Section.ANSWER, needAddresses, dnssec);
                if (expanded) {
                    proofs.addAll(Denial.wildcardAnswer(zone, name));
                }
                name = ((CNAMERecord) a.cname().first()).getTarget();
                // Like Knot, follow the chain only inside this zone (a child zone's data is not ours to vouch for here).
                if (!zones.zoneFor(name).map(z -> z == zone).orElse(false)) {
                    break;
                }
            } else if (found instanceof ZoneLookup.Referral r) {
                if (hop == 0) {
                    response.getHeader().unsetFlag(Flags.AA); // the child zone's servers are the authority
                }
                add(response, r.ns(), Section.AUTHORITY, needAddresses, dnssec);
                if (dnssec) {
                    // RFC 4035 §3.1.4: the DS RRset of a signed child, else proof that there is none
                    Name cut = r.ns().getName();
                    zone.rrset(cut, Type.DS).ifPresentOrElse(ds -> proofs.add(ds),
                            () -> proofs.addAll(Denial.unsignedDelegation(zone, cut)));
                }
                break;
            } else if (found instanceof ZoneLookup.NoData) {
                negativeSoa(response, zone, dnssec);
                if (dnssec) {
                    proofs.addAll(expanded ? Denial.wildcardNoData(zone, name) : Denial.noData(zone, name));
                }
                break;
            } else if (found instanceof ZoneLookup.NxDomain) {
                response.getHeader().setRcode(Rcode.NXDOMAIN);
                negativeSoa(response, zone, dnssec);
                if (dnssec) {
                    proofs.addAll(Denial.nameError(zone, name));
                }
                break;
            }
        }
        for (RRset proof : proofs) {
            add(response, proof, Section.AUTHORITY, needAddresses, true);
        }
        // Additional section processing (RFC 1035 §3.3.9, §3.3.11): addresses the zone has for the named hosts, glue included.
        Name cut = response.getHeader().getFlag(Flags.AA) ? null : referralCut(response);
        for (Name host : needAddresses) {
            for (RRset set : zone.addresses(host)) {
                // a referral's in-domain glue is all added: render sets TC if it does not fit (RFC 9471 §3)
                if (dnssec && !(cut != null && host.subdomain(cut))) {
                    addIfRoom(response, set.rrs(false), room);
                    addIfRoom(response, set.sigs(), room);
                } else {
                    set.rrs(false).forEach(r -> response.addRecord(r, Section.ADDITIONAL));
                }
            }
        }
        return response;
    }

    /**
     * Adds {@code records} to the additional section if the message still fits {@code room} octets,
     * as Knot fills it: an address RRset that does not fit is left out and the next one tried, and
     * its RRSIGs may be left out while it stays (RFC 4035 §3.1.1, without TC). Signed answers only:
     * unsigned ones keep dnsjava's truncation of the additional section, as before.
     */
    private static void addIfRoom(Message response, List<? extends Record> records, int room) {
        records.forEach(r -> response.addRecord(r, Section.ADDITIONAL));
        if (response.toWire().length > room) {
            records.forEach(r -> response.removeRecord(r, Section.ADDITIONAL));
        }
    }

    /** The zone's SOA in the authority section of a negative answer, signed when {@code dnssec}. */
    private static void negativeSoa(Message response, ServedZone zone, boolean dnssec) {
        if (dnssec) {
            RRset soa = zone.negativeSoaSet();
            soa.rrs(false).forEach(r -> response.addRecord(r, Section.AUTHORITY));
            soa.sigs().forEach(r -> response.addRecord(r, Section.AUTHORITY));
        } else {
            response.addRecord(zone.negativeSoa(), Section.AUTHORITY);
        }
    }

    /** Adds the records of {@code set}, and its RRSIGs when {@code withSigs}, each once; notes the hosts named for the additional section. */
    private static void add(Message response, RRset set, int section, Set<Name> needAddresses, boolean withSigs) {
        for (Record r : set.rrs(false)) {
            if (withSigs && response.findRecord(r, section)) {
                continue; // the same proof for two names of a CNAME chain
            }
            response.addRecord(r, section);
            if (r instanceof MXRecord mx) {
                needAddresses.add(mx.getTarget());
            } else if (r instanceof NSRecord ns) {
                needAddresses.add(ns.getTarget());
            } else if (r instanceof SRVRecord srv) {
                needAddresses.add(srv.getTarget());
            }
        }
        if (withSigs) {
            set.sigs().stream().filter(sig -> !response.findRecord(sig, section)).forEach(sig -> response.addRecord(sig, section));
        }
    }

    /**
     * UDP answers fit the client's EDNS buffer, at least 512 and at most our 1232 (RFC 6891 §6.2.5),
     * or 512 without EDNS; TCP answers fit the 2-octet length (RFC 1035 §4.2.2).
     */
    static int sizeLimit(Optional<OPTRecord> opt, Transport transport) {
        if (transport == Transport.TCP) {
            return TCP_MESSAGE_LIMIT;
        }
        return opt.map(o -> Math.max(PLAIN_UDP_PAYLOAD, Math.min(o.getPayloadSize(), EDNS_PAYLOAD))).orElse(PLAIN_UDP_PAYLOAD);
    }

    /**
     * What makes UDP answers the same for the response-rate limit, as BIND's and NSD's RRL classify
     * them, so that varying the question cannot make every answer a new kind: an answer with data
     * by its question's name and type, but one synthesised from a wildcard by the zone and type
     * (random names under the wildcard are one kind); NODATA and NXDOMAIN by the zone (any type, any
     * name); a referral by its zone cut; every error (REFUSED, FORMERR, BADVERS…) alike. Never 0.
     */
    private long rateKey(Message m, Zones zones) {
        Record q = m.getQuestion();
        int rcode = m.getRcode(); // with the OPT record's extended bits: BADVERS is an error
        if (q == null || (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN)) {
            return ERROR_KIND;
        }
        List<Record> authority = m.getSection(Section.AUTHORITY);
        Name apex = authority.stream().filter(r -> r.getType() == Type.SOA).map(Record::getName).findFirst().orElse(null);
        if (rcode == Rcode.NXDOMAIN) {
            return kind("nxdomain", apex, 0);
        }
        if (!m.getSection(Section.ANSWER).isEmpty()) {
            Name name = q.getName();
            Optional<ServedZone> zone = zones.zoneFor(name);
            if (zone.isPresent() && !zone.get().exists(name)) {
                return kind("wildcard", zone.get().origin(), q.getType());
            }
            return kind("data", name, q.getType());
        }
        if (apex != null) {
            return kind("nodata", apex, 0);
        }
        Name cut = authority.stream().filter(r -> r.getType() == Type.NS).map(Record::getName).findFirst().orElse(null);
        return cut != null ? kind("referral", cut, 0) : ERROR_KIND;
    }

    private static long kind(String kind, Name name, int type) {
        long h = kind.hashCode();
        if (name != null) {
            h = h * 0x9E3779B97F4A7C15L + name.toString().toLowerCase(java.util.Locale.ROOT).hashCode();
        }
        h = h * 31 + type;
        return (h & Long.MAX_VALUE) | 1L << 61; // never 0
    }

    /**
     * dnsjava drops whole RRsets that do not fit: from the additional section silently, from the
     * answer or authority section with TC set (RFC 2181 §9). A TC answer is then sent as Knot sends
     * it: header, question and OPT only, since the client must ask again over TCP anyway.
     */
    private static byte[] render(Message response, int limit) {
        byte[] wire = response.toWire(limit);
        if ((wire[2] & TC_BIT) == 0 && !glueLeftOut(response, wire)) {
            return wire;
        }
        // RFC 9471 §3: a referral whose in-domain glue does not all fit is truncated, or the child could not be reached
        return truncatedCopy(response);
    }

    /** The zone cut of a referral (not authoritative, no answer, NS records in the authority section), or null. */
    private static Name referralCut(Message response) {
        if (response.getHeader().getFlag(Flags.AA) || response.getRcode() != Rcode.NOERROR || !response.getSection(Section.ANSWER).isEmpty()) {
            return null;
        }
        return response.getSection(Section.AUTHORITY).stream().filter(r -> r.getType() == Type.NS).map(Record::getName)
                .findFirst().orElse(null);
    }

    /** Whether {@code wire} left out an address of a name server below a referral's cut (in-domain glue) that {@code response} has. */
    private static boolean glueLeftOut(Message response, byte[] wire) {
        Name cut = referralCut(response);
        if (cut == null) {
            return false;
        }
        long glue = response.getSection(Section.ADDITIONAL).stream().filter(r -> r.getName().subdomain(cut)).count();
        if (glue == 0) {
            return false;
        }
        try {
            return new Message(wire).getSection(Section.ADDITIONAL).stream().filter(r -> r.getName().subdomain(cut)).count() < glue;
        } catch (IOException ownAnswer) {
            return true;
        }
    }

    /** Header, question and OPT of {@code response}, with TC set (RFC 2181 §9). */
    private static byte[] truncatedCopy(Message response) {
        Message truncated = new Message(response.getHeader().getID());
        Header h = truncated.getHeader();
        for (int flag : new int[] {Flags.QR, Flags.AA, Flags.RD}) {
            if (response.getHeader().getFlag(flag)) {
                h.setFlag(flag);
            }
        }
        h.setFlag(Flags.TC);
        h.setOpcode(response.getHeader().getOpcode());
        h.setRcode(response.getHeader().getRcode());
        Optional.ofNullable(response.getQuestion()).ifPresent(q -> truncated.addRecord(q, Section.QUESTION));
        Optional.ofNullable(response.getOPT()).ifPresent(o -> truncated.addRecord(o, Section.ADDITIONAL));
        return truncated.toWire();
    }

    /** An answer with no data: the rcode, the question when there is one, and OPT when the query had one. */
    private static Message error(Header queryHeader, Optional<Record> question, Optional<OPTRecord> opt, int rcode) {
        Message m = reply(queryHeader, question, rcode);
        opt.ifPresent(o -> m.addRecord(responseOpt(o, rcode, List.of()), Section.ADDITIONAL));
        return m;
    }

    /**
     * Header of a reply: same ID and opcode, QR set, RD copied (RFC 1035 §4.1.1), RA never set (no
     * recursion here), AD never (an authoritative server vouches for nothing it did not sign, and
     * the signatures are for the resolver to check). CD is not copied: Knot (3.2) copies it neither
     * for unsigned nor for signed zones, and SignedZoneVersusKnotTest holds mxd to Knot.
     */
    private static Message reply(Header queryHeader, Optional<Record> question, int rcode) {
        Message m = new Message(queryHeader.getID());
        Header h = m.getHeader();
        h.setFlag(Flags.QR);
        h.setOpcode(queryHeader.getOpcode());
        if (queryHeader.getFlag(Flags.RD)) {
            h.setFlag(Flags.RD);
        }
        h.setRcode(rcode & 0xF);
        question.ifPresent(q -> m.addRecord(q, Section.QUESTION));
        return m;
    }

    /** Our OPT: payload 1232, version 0, the upper rcode bits, DO copied (RFC 3225 §3). */
    private static OPTRecord responseOpt(OPTRecord queryOpt, int rcode, List<EDNSOption> options) {
        int flags = queryOpt.getFlags() & ExtendedFlags.DO;
        return new OPTRecord(EDNS_PAYLOAD, rcode >>> 4, 0, flags, new ArrayList<>(options));
    }
}
