package dev.mxd.check;

import dev.mxd.dns.DnssecStatus;
import dev.mxd.tls.MtaSts;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * What {@code mxd check} learned about a domain's MX security (issue 17): the DNSSEC state of the check's
 * resolver and of the MX chain, for each MX host its DANE and MTA-STS results against the certificates its
 * addresses presented, the domain's MTA-STS policy and its TLS-RPT record. {@link SecurityFindings} grades it.
 */
public record SecurityReport(Validation validation, DnssecStatus mxDnssec, List<HostSecurity> hosts,
                             MtaSts.Published mtaSts, TlsRpt tlsRpt) {

    public SecurityReport {
        hosts = List.copyOf(hosts);
    }

    /**
     * The DNSSEC validation in force for the check: {@code mode} as given ({@code auto}, {@code validate},
     * {@code off}), whether answers were validated, and the resolver's sentence saying why.
     */
    public record Validation(String mode, boolean validating, String note) {}

    /** One MX host: its address records' DNSSEC status, its DANE result, and MTA-STS's view of it. */
    public record HostSecurity(String host, DnssecStatus dnssec, Dane dane, Optional<Sts> sts) {}

    /** How DANE (RFC 7672) stands for one MX host. */
    public enum DaneStatus {
        /** DNSSEC validation off, or the MX RRset or the host's addresses are not secure: no TLSA is asked (§2.2). */
        NOT_APPLICABLE,
        /** No TLSA records (a secure denial), or only insecure ones: DANE senders use opportunistic TLS. */
        NO_RECORDS,
        /** TLSA records, none usable (§3.1): DANE senders insist on TLS without authenticating it. */
        UNUSABLE_RECORDS,
        /** The TLSA lookup failed or was bogus on a secure zone: DANE senders defer (§2.2). */
        LOOKUP_FAILED,
        /** Usable records, and every certificate chain the host's addresses presented matches one. */
        AUTHENTICATED,
        /** Usable records that some address's certificate chain does not match: DANE senders defer its mail. */
        MISMATCH,
        /** Usable records, but no address gave a TLS session to check them against. */
        NOT_TESTED;

        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * DANE for one host: its status, its TLSA records as text (whatever their status), and a sentence: how it
     * was authenticated, or why not.
     */
    public record Dane(DaneStatus status, List<String> tlsa, String detail) {
        public Dane {
            tlsa = List.copyOf(tlsa);
        }
    }

    /**
     * MTA-STS (RFC 8461) for one host of a domain with a policy in mode testing or enforce: whether the policy's
     * {@code mx} patterns match it, and the Web PKI check of the certificate of each address probed.
     */
    public record Sts(boolean mxMatches, List<CertificateCheck> certificates) {
        public Sts {
            certificates = List.copyOf(certificates);
        }
    }

    /** One address's certificate under the Web PKI: {@code valid}, and how (or why not). */
    public record CertificateCheck(String address, boolean valid, String detail) {}

    /** What the TLS-RPT record at {@code _smtp._tls.DOMAIN} is (RFC 8460 §3). */
    public enum RptStatus {
        PRESENT, ABSENT, MALFORMED, LOOKUP_FAILED;

        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** The TLS-RPT record: its status, the TXT texts that claim to be one, its report addresses, a sentence. */
    public record TlsRpt(RptStatus status, List<String> records, List<URI> rua, String detail) {
        public TlsRpt {
            records = List.copyOf(records);
            rua = List.copyOf(rua);
        }
    }
}
