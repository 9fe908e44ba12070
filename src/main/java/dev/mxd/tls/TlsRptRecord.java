package dev.mxd.tls;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import java.io.IOException;
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

    /** At most this many {@code rua} addresses of a record are used; the rest are left out. */
    public static final int MAX_RUA = 5;
    private static final String PREFIX = "v=TLSRPTv1;";

    /**
     * Looks the record up. Empty when there is none or when there are several (§3: "If multiple TXT records
     * for _smtp._tls are returned by the resolver, records that do not begin with v=TLSRPTv1; are
     * discarded. If the number of resulting records is not one, senders MUST assume the recipient domain
     * does not implement TLSRPT"): every record that begins with {@code v=TLSRPTv1;} counts, usable or
     * not. Throws when the lookup failed (no answer, SERVFAIL, bogus): the caller keeps its counts and asks
     * again later, never taking a failure for "no record".
     */
    public static Optional<TlsRptRecord> lookup(DnsClient dns, String domain) throws IOException {
        Name name;
        try {
            name = Name.fromString("_smtp._tls." + domain + ".");
        } catch (TextParseException e) {
            return Optional.empty();
        }
        DnsAnswer answer = dns.query(name, Type.TXT);
        if (answer instanceof DnsAnswer.Failed failed) {
            throw new IOException("the lookup of " + name + " TXT failed: " + failed.reason());
        }
        if (!(answer instanceof DnsAnswer.Found found)) {
            return Optional.empty();
        }
        List<String> texts = new ArrayList<>();
        for (var r : found.records()) {
            if (r instanceof TXTRecord txt) {
                texts.add(String.join("", txt.getStrings()));
            }
        }
        return choose(texts);
    }

    /** §3's choice among the TXT strings at {@code _smtp._tls.DOMAIN}: the one record beginning {@code v=TLSRPTv1;}, parsed. */
    public static Optional<TlsRptRecord> choose(List<String> texts) {
        List<String> candidates = texts.stream().filter(t -> t.startsWith(PREFIX)).toList();
        return candidates.size() == 1 ? parse(candidates.get(0)) : Optional.empty();
    }

    /**
     * Parses the record's text; empty when it does not begin with {@code v=TLSRPTv1;} or names no usable
     * {@code rua} ({@code mailto:} or {@code https:}; other schemes are left out, and so is every address
     * after the first {@link #MAX_RUA} usable ones). The field name {@code rua=} is case-sensitive (§3's
     * ABNF: {@code %s"rua="}).
     */
    public static Optional<TlsRptRecord> parse(String text) {
        if (!text.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] fields = text.substring(PREFIX.length()).split(";");
        List<URI> rua = new ArrayList<>();
        for (String f : fields) {
            String field = f.strip();
            if (!field.startsWith("rua=")) {
                continue;
            }
            for (String uri : field.substring(4).split(",")) {
                if (rua.size() >= MAX_RUA) {
                    break;
                }
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
