package dev.mxd.tls;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Name;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * What the {@code _mta-sts.DOMAIN} TXT record says (RFC 8461 §3.1): a policy exists with this id, there
 * is none, or DNS could not tell now.
 */
public sealed interface StsRecord {

    /** Exactly one valid {@code v=STSv1} record: the domain has a policy with {@code id}. */
    record Present(String id) implements StsRecord {}

    /** No record, or not exactly one valid one: the domain has no available policy (§3.1). */
    record Absent(String reason) implements StsRecord {}

    /** A temporary DNS failure: nothing is known. */
    record Unknown(String reason) implements StsRecord {}

    /** Looks up and reads {@code _mta-sts.DOMAIN} through {@code dns} (CNAMEs followed). */
    static StsRecord lookup(DnsClient dns, String domain) {
        Name name;
        try {
            name = Name.fromString("_mta-sts." + domain, Name.root);
        } catch (TextParseException e) {
            return new Absent("_mta-sts." + domain + " is not a DNS name");
        }
        DnsAnswer answer = dns.query(name, Type.TXT);
        if (answer instanceof DnsAnswer.Failed f) {
            return new Unknown("_mta-sts." + domain + " TXT: " + f.reason());
        }
        if (!(answer instanceof DnsAnswer.Found found)) {
            return new Absent("no _mta-sts." + domain + " TXT record");
        }
        List<String> texts = new ArrayList<>();
        for (var r : found.records()) {
            if (r instanceof TXTRecord txt) {
                texts.add(String.join("", txt.getStrings()));
            }
        }
        return of(domain, texts);
    }

    /** Reads the TXT records' texts (each record's strings joined), as §3.1 says. */
    static StsRecord of(String domain, List<String> texts) {
        List<String> sts = texts.stream()
                .filter(t -> t.matches("(?s)v=STSv1[ \t]*;.*")) // §3.1: *WSP may come before the ';', which must be there
                .toList();
        if (sts.size() != 1) {
            return new Absent(sts.isEmpty() ? "no v=STSv1 record at _mta-sts." + domain
                    : sts.size() + " v=STSv1 records at _mta-sts." + domain + " (RFC 8461 §3.1 wants exactly one)");
        }
        String id = null;
        String[] fields = sts.get(0).split(";");
        for (int i = 1; i < fields.length; i++) {
            String f = fields[i].strip();
            if (f.isEmpty()) {
                continue;
            }
            int eq = f.indexOf('=');
            if (eq <= 0) {
                return new Absent("_mta-sts." + domain + ": field '" + f + "' is not key=value");
            }
            if (f.substring(0, eq).equals("id")) {
                String value = f.substring(eq + 1);
                if (id != null || !value.matches("[A-Za-z0-9]{1,32}")) {
                    return new Absent("_mta-sts." + domain + ": id '" + value + "' is not 1 to 32 letters and digits, or given twice");
                }
                id = value;
            }
        }
        return id == null ? new Absent("_mta-sts." + domain + ": no id field") : new Present(id);
    }
}
