package dev.mxd.demo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.Master;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;

/**
 * Signs the small zone of {@code mxd demo --secure} in process, as {@code ldns-signzone} would sign
 * it offline: one fresh ECDSA P-256 key (algorithm 13, RFC 6605) serves as key-signing and
 * zone-signing key (flags 257), every authoritative RRset gets an RRSIG (RFC 4035 §2.2), and an
 * NSEC chain over the zone's names in canonical order (RFC 4034 §4, §6.1) proves what does not
 * exist. The zone has no delegation and no wildcard, so every name is authoritative. The result is
 * zone-file text that {@code mxd dns} serves like any zone signed offline (docs/dns-server.md).
 * The key lives only in memory: a new one at every run, and its DNSKEY is the trust anchor the
 * demo's nodes validate from.
 */
final class DemoZoneSigner {

    private DemoZoneSigner() {}

    /**
     * A signed zone.
     *
     * @param text   the zone file: SOA first, then every record with its RRSIG, DNSKEY and NSEC records
     * @param anchor the zone's DNSKEY record in zone-file format, for {@code dns.trust-anchors}
     * @param key    the DNSKEY record itself
     */
    record Signed(String text, String anchor, DNSKEYRecord key) {}

    /**
     * Signs {@code zoneText} (an unsigned zone file for {@code origin}, SOA included) plus {@code extra}
     * records, with signatures valid from an hour before {@code now} for {@code days} days.
     *
     * @throws IllegalStateException the text does not parse, or this JDK cannot sign with ECDSA P-256
     */
    static Signed sign(Name origin, String zoneText, List<Record> extra, Instant now, int days) {
        List<Record> records = new ArrayList<>(parse(origin, zoneText));
        records.addAll(extra);
        long ttl = records.stream().filter(r -> r instanceof SOARecord).map(r -> ((SOARecord) r).getMinimum())
                .findFirst().orElseThrow(() -> new IllegalStateException("the demo zone has no SOA record"));
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair keys = g.generateKeyPair();
            DNSKEYRecord dnskey = new DNSKEYRecord(origin, DClass.IN, ttl, DNSKEYRecord.Flags.ZONE_KEY | DNSKEYRecord.Flags.SEP_KEY,
                    DNSKEYRecord.Protocol.DNSSEC, DNSSEC.Algorithm.ECDSAP256SHA256, keys.getPublic());
            records.add(dnskey);
            records.addAll(nsecChain(origin, records, ttl));
            // RRsets by owner in canonical order, then by type, SOA first so the file reads as a zone file does.
            Map<Name, Map<Integer, RRset>> byName = new TreeMap<>();
            for (Record r : records) {
                byName.computeIfAbsent(r.getName(), n -> new TreeMap<>()).computeIfAbsent(r.getType(), t -> new RRset()).addRR(r);
            }
            StringBuilder text = new StringBuilder("; mxd demo --secure: " + origin + " signed at " + now
                    + " with a key made for this run (ECDSA P-256, algorithm 13, key tag " + dnskey.getFootprint() + ")\n");
            text.append("$ORIGIN ").append(origin).append('\n');
            Instant inception = now.minusSeconds(3600);
            Instant expiration = now.plusSeconds(86_400L * days);
            List<RRset> ordered = new ArrayList<>();
            ordered.add(byName.get(origin).remove(Type.SOA));
            byName.values().forEach(types -> ordered.addAll(types.values()));
            for (RRset set : ordered) {
                for (Record r : set.rrs(false)) {
                    text.append(r).append('\n');
                }
                text.append(DNSSEC.sign(set, dnskey, keys.getPrivate(), inception, expiration)).append('\n');
            }
            return new Signed(text.toString(), dnskey.toString() + "\n", dnskey);
        } catch (GeneralSecurityException | DNSSEC.DNSSECException e) {
            throw new IllegalStateException("cannot sign the demo zone " + origin + ": " + e.getMessage(), e);
        }
    }

    /**
     * One NSEC record per name that owns records (empty non-terminals own none, RFC 4035 §2.3), each
     * pointing to the next name in canonical order, the last one back to the apex; its type bitmap
     * lists the name's types, RRSIG and NSEC.
     */
    static List<Record> nsecChain(Name origin, List<Record> records, long ttl) {
        Map<Name, TreeSet<Integer>> types = new TreeMap<>();
        for (Record r : records) {
            types.computeIfAbsent(r.getName(), n -> new TreeSet<>()).add(r.getType());
        }
        List<Name> names = new ArrayList<>(types.keySet());
        List<Record> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Name name = names.get(i);
            Name next = i + 1 < names.size() ? names.get(i + 1) : origin;
            TreeSet<Integer> bitmap = new TreeSet<>(types.get(name));
            bitmap.add(Type.RRSIG);
            bitmap.add(Type.NSEC);
            out.add(new NSECRecord(name, DClass.IN, ttl, next, bitmap.stream().mapToInt(Integer::intValue).toArray()));
        }
        return out;
    }

    private static List<Record> parse(Name origin, String zoneText) {
        List<Record> out = new ArrayList<>();
        try (Master m = new Master(new ByteArrayInputStream(zoneText.getBytes(StandardCharsets.US_ASCII)), origin)) {
            for (Record r = m.nextRecord(); r != null; r = m.nextRecord()) {
                out.add(r);
            }
        } catch (IOException e) {
            throw new IllegalStateException("the demo's own zone text does not parse: " + e.getMessage(), e);
        }
        return out;
    }
}
