package dev.mxd.dns;

import java.util.List;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The TLSA records of an MX host for DANE (RFC 7672 §2.2): asked at {@code _25._tcp.HOST}, the port of the
 * MX protocol, whatever port delivery connects to in a test. Through the {@link DnsClient}, so the answer
 * carries its DNSSEC status.
 */
public final class TlsaLookup {

    /** The MX protocol's port: TLSA records name it, not the port a test delivers to. */
    public static final int SMTP_PORT = 25;

    private final DnsClient dns;

    public TlsaLookup(DnsClient dns) {
        this.dns = dns;
    }

    /** Whether answers are validated now: without it no TLSA answer can be secure, and DANE does not apply. */
    public boolean validating() {
        return dns.validating();
    }

    /** {@code _25._tcp.HOST}. */
    public static Name ownerOf(String host) {
        try {
            return Name.fromString("_" + SMTP_PORT + "._tcp." + (host.endsWith(".") ? host : host + "."));
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a host name: " + host, e);
        }
    }

    /** The TLSA answer for {@code host}; never throws for DNS trouble (a {@link DnsAnswer.Failed} instead). */
    public DnsAnswer lookup(String host) {
        return dns.query(ownerOf(host), Type.TLSA);
    }

    /**
     * Whether a TLSA answer at a secure alias's expanded name holds no records to use (RFC 7672 §2.2.2): an insecure
     * answer (no records, §2.2), or a secure one without records; a failure or a bogus answer is no such thing, as it
     * may hide records that exist. Then the MX host name's own records count.
     */
    public static boolean holdsNoRecords(DnsAnswer answer) {
        return !(answer instanceof DnsAnswer.Failed) && (answer.dnssec() == DnssecStatus.INSECURE
                || answer.dnssec() == DnssecStatus.SECURE && !(answer instanceof DnsAnswer.Found));
    }

    /** The TLSA records of a found answer, in presentation form ("3 1 1 AB12…"); empty for any other answer. */
    public static List<String> texts(DnsAnswer answer) {
        if (!(answer instanceof DnsAnswer.Found found)) {
            return List.of();
        }
        return found.records().stream().filter(r -> r instanceof TLSARecord).map(Record::rdataToString).toList();
    }
}
