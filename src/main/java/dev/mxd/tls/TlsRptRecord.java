package dev.mxd.tls;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.xbill.DNS.Name;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A domain's TLS-RPT record (RFC 8460 §3): the TXT record {@code v=TLSRPTv1; rua=URI[,URI]} at
 * {@code _smtp._tls.DOMAIN}, with its {@code mailto:} and {@code https:} report addresses.
 */
public record TlsRptRecord(List<URI> rua) {

    public TlsRptRecord {
        rua = List.copyOf(rua);
    }

    /**
     * Looks the record up. Empty when there is none, when there are several (§3: "If multiple TXT records
     * for _smtp._tls are returned by the resolver, records that do not begin with v=TLSRPTv1; are
     * discarded. If the number of resulting records is not one, senders MUST assume the recipient domain
     * does not implement TLSRPT"), or when the lookup failed.
     */
    public static Optional<TlsRptRecord> lookup(DnsClient dns, String domain) {
        Name name;
        try {
            name = Name.fromString("_smtp._tls." + domain + ".");
        } catch (TextParseException e) {
            return Optional.empty();
        }
        if (!(dns.query(name, Type.TXT) instanceof DnsAnswer.Found found)) {
            return Optional.empty();
        }
        List<TlsRptRecord> records = new ArrayList<>();
        for (var r : found.records()) {
            if (r instanceof TXTRecord txt) {
                parse(String.join("", txt.getStrings())).ifPresent(records::add);
            }
        }
        return records.size() == 1 ? Optional.of(records.get(0)) : Optional.empty();
    }

    /**
     * Parses the record's text; empty when it is not a TLS-RPT record or names no usable {@code rua}
     * ({@code mailto:} or {@code https:}; other schemes are left out).
     */
    public static Optional<TlsRptRecord> parse(String text) {
        String[] fields = text.split(";");
        if (fields.length == 0 || !fields[0].strip().equals("v=TLSRPTv1")) {
            return Optional.empty();
        }
        List<URI> rua = new ArrayList<>();
        for (int i = 1; i < fields.length; i++) {
            String field = fields[i].strip();
            int eq = field.indexOf('=');
            if (eq < 0 || !field.substring(0, eq).strip().equalsIgnoreCase("rua")) {
                continue;
            }
            for (String uri : field.substring(eq + 1).split(",")) {
                try {
                    URI u = new URI(uri.strip());
                    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
                    if ((scheme.equals("mailto") && u.getSchemeSpecificPart().contains("@"))
                            || (scheme.equals("https") && u.getHost() != null)) {
                        rua.add(u);
                    }
                } catch (java.net.URISyntaxException e) {
                    // a malformed URI is skipped; the others still get the report
                }
            }
        }
        return rua.isEmpty() ? Optional.empty() : Optional.of(new TlsRptRecord(rua));
    }
}
