package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSEC3PARAMRecord;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import org.xbill.DNS.utils.base32;

/**
 * Signed answers on bytes: zones signed offline (src/test/resources/zones/server/signed: NSEC by
 * ldns-signzone, NSEC3 by ldns-signzone -n, NSEC3 with opt-out by dnssec-signzone -A) answered by
 * {@link QueryResponder}; every RRSIG in an answer is checked against the zone's DNSKEY, and each
 * proof of non-existence against the names it must match or cover (RFC 4035 §3.1, RFC 5155 §7.2).
 */
class SignedAnswersTest {

    static final Path SIGNED = Path.of("src/test/resources/zones/server/signed");
    /** Inside the validity of the committed signatures (2026-12-03 to 2036-01-01). */
    static final Instant CHECKED_AT = Instant.parse("2030-01-01T00:00:00Z");
    static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 5300);

    static ServedZone zone(String signer) throws Exception {
        return ServedZone.load(SIGNED.resolve(signer).resolve("signed.test.zone"));
    }

    static Name name(String s) {
        return Name.fromConstantString(s.endsWith(".") ? s : s + ".");
    }

    static Message ask(QueryResponder responder, String qname, int type, boolean dnssec, int payload,
                       QueryResponder.Transport transport) throws Exception {
        Message q = Message.newQuery(Record.newRecord(name(qname), type, DClass.IN));
        q.getHeader().unsetFlag(Flags.RD);
        q.addRecord(new OPTRecord(payload, 0, 0, dnssec ? ExtendedFlags.DO : 0), Section.ADDITIONAL);
        byte[] wire = q.toWire();
        return new Message(responder.respond(wire, wire.length, transport, CLIENT).orElseThrow());
    }

    /**
     * The SERVFAIL this server answers when it fails itself (here: no zones at all, a fault no configuration makes) keeps the
     * query's EDNS: an OPT record with the DO bit (RFC 6891 §7, RFC 3225 §3); it had none.
     */
    @Test
    void aServerFailureKeepsTheQuerysEdns() throws Exception {
        Message m = ask(new QueryResponder(null), "mx1.srv.test.", Type.A, true, 1232, QueryResponder.Transport.UDP);
        assertThat(m.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(m.getOPT()).isNotNull();
        assertThat(m.getOPT().getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
    }

    /** A UDP query from source port 0 is dropped (no answer can go there), as NSD and Unbound drop it; over TCP it is answered. */
    @Test
    void aUdpQueryFromPortZeroIsDropped() throws Exception {
        QueryResponder r = new QueryResponder(new Zones(List.of(ServedZoneTest.srv())));
        byte[] q = DnsServerTest.query("mx1.srv.test.", Type.A).toWire();
        assertThat(r.respond(q, q.length, QueryResponder.Transport.UDP, new InetSocketAddress("127.0.0.1", 0))).isEmpty();
        assertThat(r.respond(q, q.length, QueryResponder.Transport.UDP, new InetSocketAddress("127.0.0.1", 5300))).isPresent();
    }

    static Message ask(ServedZone zone, String qname, int type, boolean dnssec) throws Exception {
        return ask(new QueryResponder(new Zones(List.of(zone))), qname, type, dnssec, 4096, QueryResponder.Transport.TCP);
    }

    /** The RRsets of one section (RRSIGs with the set they cover); fails when any lacks a signature that verifies. */
    static List<RRset> verified(ServedZone zone, Message m, int section) throws Exception {
        Map<List<Object>, RRset> sets = new LinkedHashMap<>();
        for (Record r : m.getSection(section)) {
            if (r.getType() != Type.OPT) {
                sets.computeIfAbsent(List.of(r.getName(), r.getRRsetType()), k -> new RRset()).addRR(r);
            }
        }
        DNSKEYRecord zsk = zone.rrset(zone.origin(), Type.DNSKEY).orElseThrow().rrs().stream().map(DNSKEYRecord.class::cast)
                .filter(k -> k.getFlags() == 256).findFirst().orElseThrow();
        DNSKEYRecord ksk = zone.rrset(zone.origin(), Type.DNSKEY).orElseThrow().rrs().stream().map(DNSKEYRecord.class::cast)
                .filter(k -> k.getFlags() == 257).findFirst().orElseThrow();
        for (RRset set : sets.values()) {
            boolean delegationNs = set.getType() == Type.NS && !set.getName().equals(zone.origin());
            boolean glue = section == Section.ADDITIONAL && set.getName().subdomain(name("secure.signed.test"));
            if (delegationNs || glue) {
                assertThat(set.sigs()).as("%s is not signed in the parent", set).isEmpty();
                continue;
            }
            assertThat(set.sigs()).as("RRSIGs of %s in %s", set, Section.string(section)).isNotEmpty();
            for (RRSIGRecord sig : set.sigs()) {
                DNSSEC.verify(set, sig, sig.getFootprint() == ksk.getFootprint() ? ksk : zsk, CHECKED_AT);
            }
        }
        return new ArrayList<>(sets.values());
    }

    static List<Record> records(Message m, int section, int type) {
        return m.getSection(section).stream().filter(r -> r.getType() == type).toList();
    }

    /** Whether {@code nsec} proves that {@code n} does not exist: owner < n < next in canonical order, or past the end. */
    static boolean covers(NSECRecord nsec, Name n) {
        boolean afterOwner = nsec.getName().compareTo(n) < 0;
        boolean beforeNext = n.compareTo(nsec.getNext()) < 0;
        boolean last = nsec.getNext().compareTo(nsec.getName()) <= 0;
        return afterOwner && (beforeNext || last);
    }

    static String hashOf(ServedZone zone, Name n) throws Exception {
        NSEC3PARAMRecord p = (NSEC3PARAMRecord) zone.rrset(zone.origin(), Type.NSEC3PARAM).orElseThrow().first();
        return new base32("0123456789ABCDEFGHIJKLMNOPQRSTUV=", false, true).toString(p.hashName(n));
    }

    static String ownerHash(NSEC3Record r) {
        return r.getName().getLabelString(0).toLowerCase(java.util.Locale.ROOT);
    }

    static boolean matches(ServedZone zone, List<Record> nsec3s, Name n) throws Exception {
        String h = hashOf(zone, n);
        return nsec3s.stream().map(NSEC3Record.class::cast).anyMatch(r -> ownerHash(r).equals(h));
    }

    static boolean covered(ServedZone zone, List<Record> nsec3s, Name n) throws Exception {
        String h = hashOf(zone, n);
        base32 b32 = new base32("0123456789ABCDEFGHIJKLMNOPQRSTUV=", false, true);
        for (Record r : nsec3s) {
            NSEC3Record n3 = (NSEC3Record) r;
            String owner = ownerHash(n3);
            String next = b32.toString(n3.getNext());
            boolean inside = owner.compareTo(next) < 0 ? owner.compareTo(h) < 0 && h.compareTo(next) < 0
                    : owner.compareTo(h) < 0 || h.compareTo(next) < 0; // the last interval wraps
            if (inside) {
                return true;
            }
        }
        return false;
    }

    @Test
    void positiveAnswerWithDoCarriesVerifiableSignaturesInEverySection() throws Exception {
        ServedZone z = zone("nsec");
        assertThat(z.signed()).isTrue();
        Message a = ask(z, "signed.test", Type.MX, true);
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(a.getHeader().getFlag(Flags.AD)).isFalse();
        assertThat(a.getOPT().getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
        assertThat(verified(z, a, Section.ANSWER)).singleElement().satisfies(s -> assertThat(s.size()).isEqualTo(2));
        assertThat(verified(z, a, Section.ADDITIONAL)).hasSize(3); // mx1 A, mx1 AAAA, mx2 A, each signed
        assertThat(verified(z, ask(z, "signed.test", Type.DNSKEY, true), Section.ANSWER)).hasSize(1);
    }

    @Test
    void withoutDoASignedZoneAnswersWithoutDnssecRecords() throws Exception {
        ServedZone z = zone("nsec3");
        for (Message a : List.of(ask(z, "signed.test", Type.MX, false), ask(z, "nx.signed.test", Type.A, false),
                ask(z, "foo.wild.signed.test", Type.MX, false), ask(z, "host.insecure.signed.test", Type.A, false))) {
            for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
                assertThat(a.getSection(section)).as("%s", a).noneMatch(r -> r.getType() == Type.RRSIG
                        || r.getType() == Type.NSEC || r.getType() == Type.NSEC3 || r.getType() == Type.DS);
            }
        }
        assertThat(ask(z, "nx.signed.test", Type.A, false).getSection(Section.AUTHORITY)).singleElement()
                .satisfies(r -> assertThat(r.getType()).isEqualTo(Type.SOA));
    }

    @Test
    void unsignedZoneAnswersTheSameWithAndWithoutDo() throws Exception {
        QueryResponder responder = new QueryResponder(new Zones(List.of(ServedZoneTest.srv())));
        for (String[] q : new String[][] {{"srv.test", "MX"}, {"nx.srv.test", "A"}, {"mx1.srv.test", "MX"},
                {"foo.wild.srv.test", "A"}, {"host.sub.srv.test", "A"}, {"sub.srv.test", "DS"}, {"www.srv.test", "A"}}) {
            int type = Type.value(q[1]);
            Message plain = ask(responder, q[0], type, false, 1232, QueryResponder.Transport.UDP);
            Message dnssec = ask(responder, q[0], type, true, 1232, QueryResponder.Transport.UDP);
            assertThat(dnssec.getHeader().printFlags()).isEqualTo(plain.getHeader().printFlags());
            assertThat(dnssec.getRcode()).isEqualTo(plain.getRcode());
            for (int section = Section.QUESTION; section <= Section.AUTHORITY; section++) {
                assertThat(dnssec.getSection(section)).as("%s %s", q[0], q[1]).isEqualTo(plain.getSection(section));
            }
            assertThat(dnssec.getSection(Section.ADDITIONAL).stream().filter(r -> r.getType() != Type.OPT).toList())
                    .isEqualTo(plain.getSection(Section.ADDITIONAL).stream().filter(r -> r.getType() != Type.OPT).toList());
        }
    }

    @Test
    void nxdomainWithNsecProvesTheNameAndTheWildcardAbsent() throws Exception {
        ServedZone z = zone("nsec");
        Message a = ask(z, "deep.nx.signed.test", Type.MX, true);
        assertThat(a.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        verified(z, a, Section.AUTHORITY);
        assertThat(records(a, Section.AUTHORITY, Type.SOA)).singleElement()
                .satisfies(soa -> assertThat(soa.getTTL()).isEqualTo(120));
        List<NSECRecord> nsecs = records(a, Section.AUTHORITY, Type.NSEC).stream().map(NSECRecord.class::cast).toList();
        assertThat(nsecs).anyMatch(n -> covers(n, name("deep.nx.signed.test")));
        assertThat(nsecs).anyMatch(n -> covers(n, name("*.signed.test"))); // the closest encloser is the apex
    }

    @Test
    void nxdomainWithNsec3GivesTheClosestEncloserProofAndTheWildcardCover() throws Exception {
        ServedZone z = zone("nsec3");
        Message a = ask(z, "deep.nx.signed.test", Type.MX, true);
        assertThat(a.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        verified(z, a, Section.AUTHORITY);
        List<Record> nsec3s = records(a, Section.AUTHORITY, Type.NSEC3);
        assertThat(matches(z, nsec3s, name("signed.test"))).as("closest encloser matched").isTrue();
        assertThat(covered(z, nsec3s, name("nx.signed.test"))).as("next closer name covered").isTrue();
        assertThat(covered(z, nsec3s, name("*.signed.test"))).as("wildcard covered").isTrue();
        assertThat(nsec3s).hasSizeBetween(2, 3);
    }

    @Test
    void nodataWithNsecShowsTheTypesTheNameHas() throws Exception {
        ServedZone z = zone("nsec");
        Message a = ask(z, "mx1.signed.test", Type.MX, true);
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        verified(z, a, Section.AUTHORITY);
        assertThat(records(a, Section.AUTHORITY, Type.NSEC)).singleElement().satisfies(r -> {
            assertThat(r.getName()).isEqualTo(name("mx1.signed.test"));
            assertThat(((NSECRecord) r).hasType(Type.A)).isTrue();
            assertThat(((NSECRecord) r).hasType(Type.MX)).isFalse();
        });
        // an empty non-terminal: the NSEC before it, whose next name is below it
        Message ent = ask(z, "b.ent.signed.test", Type.A, true);
        assertThat(ent.getRcode()).isEqualTo(Rcode.NOERROR);
        verified(z, ent, Section.AUTHORITY);
        assertThat(records(ent, Section.AUTHORITY, Type.NSEC)).singleElement().satisfies(r -> {
            assertThat(covers((NSECRecord) r, name("b.ent.signed.test"))).isTrue();
            assertThat(((NSECRecord) r).getNext().subdomain(name("b.ent.signed.test"))).isTrue();
        });
    }

    @Test
    void nodataWithNsec3MatchesTheName() throws Exception {
        ServedZone z = zone("nsec3");
        for (String n : List.of("mx1.signed.test", "b.ent.signed.test")) {
            Message a = ask(z, n, Type.MX, true);
            assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
            verified(z, a, Section.AUTHORITY);
            List<Record> nsec3s = records(a, Section.AUTHORITY, Type.NSEC3);
            assertThat(nsec3s).singleElement().satisfies(r -> assertThat(((NSEC3Record) r).hasType(Type.MX)).isFalse());
            assertThat(matches(z, nsec3s, name(n))).as(n).isTrue();
        }
    }

    @Test
    void wildcardAnswerIsSignedAsTheWildcardAndProvesTheNameAbsent() throws Exception {
        for (String signer : List.of("nsec", "nsec3")) {
            ServedZone z = zone(signer);
            Message a = ask(z, "x.y.wild.signed.test", Type.MX, true);
            assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
            verified(z, a, Section.ANSWER);
            assertThat(records(a, Section.ANSWER, Type.RRSIG)).singleElement().satisfies(r -> {
                assertThat(r.getName()).isEqualTo(name("x.y.wild.signed.test"));
                assertThat(((RRSIGRecord) r).getLabels()).isEqualTo(3); // wild.signed.test: expanded from *.wild
            });
            verified(z, a, Section.AUTHORITY);
            if (signer.equals("nsec")) {
                assertThat(records(a, Section.AUTHORITY, Type.NSEC)).singleElement()
                        .satisfies(r -> assertThat(covers((NSECRecord) r, name("x.y.wild.signed.test"))).isTrue());
            } else {
                assertThat(covered(z, records(a, Section.AUTHORITY, Type.NSEC3), name("y.wild.signed.test")))
                        .as("the next closer name is covered").isTrue();
            }
        }
    }

    @Test
    void wildcardNodataProvesTheNameAbsentAndTheWildcardWithoutTheType() throws Exception {
        ServedZone nsec = zone("nsec");
        Message a = ask(nsec, "foo.wild.signed.test", Type.TXT, true);
        verified(nsec, a, Section.AUTHORITY);
        List<NSECRecord> nsecs = records(a, Section.AUTHORITY, Type.NSEC).stream().map(NSECRecord.class::cast).toList();
        assertThat(nsecs).anyMatch(n -> covers(n, name("foo.wild.signed.test")));
        assertThat(nsecs).anyMatch(n -> n.getName().equals(name("*.wild.signed.test")) && !n.hasType(Type.TXT));

        ServedZone nsec3 = zone("nsec3");
        Message b = ask(nsec3, "foo.wild.signed.test", Type.TXT, true);
        verified(nsec3, b, Section.AUTHORITY);
        List<Record> nsec3s = records(b, Section.AUTHORITY, Type.NSEC3);
        assertThat(matches(nsec3, nsec3s, name("wild.signed.test"))).isTrue();
        assertThat(covered(nsec3, nsec3s, name("foo.wild.signed.test"))).isTrue();
        assertThat(matches(nsec3, nsec3s, name("*.wild.signed.test"))).isTrue();
    }

    @Test
    void referralCarriesTheSignedDsOrProofThatThereIsNone() throws Exception {
        ServedZone z = zone("nsec");
        Message secure = ask(z, "host.secure.signed.test", Type.A, true);
        assertThat(secure.getHeader().getFlag(Flags.AA)).isFalse();
        verified(z, secure, Section.AUTHORITY);
        assertThat(records(secure, Section.AUTHORITY, Type.NS)).hasSize(1);
        assertThat(records(secure, Section.AUTHORITY, Type.DS)).hasSize(1);
        assertThat(records(secure, Section.AUTHORITY, Type.NSEC)).isEmpty();

        Message insecure = ask(z, "host.insecure.signed.test", Type.A, true);
        verified(z, insecure, Section.AUTHORITY);
        assertThat(records(insecure, Section.AUTHORITY, Type.DS)).isEmpty();
        assertThat(records(insecure, Section.AUTHORITY, Type.NSEC)).singleElement().satisfies(r -> {
            assertThat(r.getName()).isEqualTo(name("insecure.signed.test"));
            assertThat(((NSECRecord) r).hasType(Type.NS)).isTrue();
            assertThat(((NSECRecord) r).hasType(Type.DS)).isFalse();
        });
    }

    /**
     * A name of many labels below the closest encloser costs the hashes of the proof only: the names between do not
     * exist and own no NSEC3. Before, each ancestor was hashed in turn (110 and more hashes for this query, each of
     * 1 + iterations SHA-1 rounds), a cost any client could make the server pay per datagram.
     */
    @Test
    void aDeepNonexistentNameCostsNoMoreHashesThanAShallowOne() throws Exception {
        ServedZone z = zone("nsec3");
        long before = z.hashesComputed();
        Message shallow = ask(z, "deep.nx.signed.test", Type.MX, true);
        long forShallow = z.hashesComputed() - before;
        String labels = "a.".repeat(110); // 113 labels below signed.test, near the 255-octet limit
        before = z.hashesComputed();
        Message deep = ask(z, labels + "nx.signed.test", Type.MX, true);
        long forDeep = z.hashesComputed() - before;
        assertThat(deep.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        verified(z, deep, Section.AUTHORITY);
        List<Record> nsec3s = records(deep, Section.AUTHORITY, Type.NSEC3);
        assertThat(matches(z, nsec3s, name("signed.test"))).as("closest encloser matched").isTrue();
        assertThat(covered(z, nsec3s, name("nx.signed.test"))).as("next closer name covered").isTrue();
        assertThat(covered(z, nsec3s, name("*.signed.test"))).as("wildcard covered").isTrue();
        assertThat(shallow.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(forDeep).as("hashes for 115 labels against 4").isEqualTo(forShallow).isLessThanOrEqualTo(6);
    }

    @Test
    void optOutReferralProvesTheClosestProvableEncloserWithAnOptOutCover() throws Exception {
        ServedZone z = zone("optout");
        Message a = ask(z, "host.insecure.signed.test", Type.A, true);
        assertThat(records(a, Section.AUTHORITY, Type.NS)).hasSize(1);
        verified(z, a, Section.AUTHORITY);
        List<Record> nsec3s = records(a, Section.AUTHORITY, Type.NSEC3);
        assertThat(matches(z, nsec3s, name("insecure.signed.test"))).as("left out of the chain").isFalse();
        assertThat(matches(z, nsec3s, name("signed.test"))).isTrue();
        assertThat(covered(z, nsec3s, name("insecure.signed.test"))).isTrue();
        assertThat(nsec3s).anyMatch(r -> (((NSEC3Record) r).getFlags() & NSEC3Record.Flags.OPT_OUT) != 0);
    }

    @Test
    void dsIsAnsweredFromTheParentSideOfTheCut() throws Exception {
        ServedZone z = zone("nsec3");
        Message ds = ask(z, "secure.signed.test", Type.DS, true);
        assertThat(ds.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(verified(z, ds, Section.ANSWER)).singleElement().satisfies(s -> assertThat(s.getType()).isEqualTo(Type.DS));
        Message none = ask(z, "insecure.signed.test", Type.DS, true);
        assertThat(none.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(none.getSection(Section.ANSWER)).isEmpty();
        verified(z, none, Section.AUTHORITY);
        List<Record> nsec3s = records(none, Section.AUTHORITY, Type.NSEC3);
        assertThat(matches(z, nsec3s, name("insecure.signed.test"))).isTrue();
    }

    @Test
    void aSignedAnswerTooLargeForUdpIsTruncatedNotStrippedOfSignatures() throws Exception {
        QueryResponder responder = new QueryResponder(new Zones(List.of(zone("nsec3"))));
        Message udp = ask(responder, "deep.nx.signed.test", Type.MX, true, 512, QueryResponder.Transport.UDP);
        assertThat(udp.getHeader().getFlag(Flags.TC)).isTrue();
        assertThat(udp.getSection(Section.AUTHORITY)).isEmpty();
        Message tcp = ask(responder, "deep.nx.signed.test", Type.MX, true, 512, QueryResponder.Transport.TCP);
        assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(records(tcp, Section.AUTHORITY, Type.RRSIG)).hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void nsec3OwnerNamesDoNotExistAsNames() throws Exception {
        ServedZone z = zone("nsec3");
        String owner = hashOf(z, name("mx1.signed.test")) + ".signed.test";
        Message a = ask(z, owner, Type.NSEC3, true);
        assertThat(a.getRcode()).as("RFC 5155 §7.2.8").isEqualTo(Rcode.NXDOMAIN);
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        verified(z, a, Section.AUTHORITY);
        assertThat(covered(z, records(a, Section.AUTHORITY, Type.NSEC3), name(owner))).isTrue();
    }

    @Test
    void aReloadTakesTheNewSignaturesAndDenial() throws Exception {
        QueryResponder responder = new QueryResponder(new Zones(List.of(zone("nsec"))));
        Message before = ask(responder, "nx.signed.test", Type.A, true, 1232, QueryResponder.Transport.UDP);
        assertThat(records(before, Section.AUTHORITY, Type.NSEC)).isNotEmpty();
        responder.replaceZones(new Zones(List.of(zone("nsec3"))));
        Message after = ask(responder, "nx.signed.test", Type.A, true, 1232, QueryResponder.Transport.UDP);
        assertThat(records(after, Section.AUTHORITY, Type.NSEC)).isEmpty();
        assertThat(records(after, Section.AUTHORITY, Type.NSEC3)).isNotEmpty();
    }
}
