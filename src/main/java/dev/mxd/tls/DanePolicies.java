package dev.mxd.tls;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.TlsaLookup;
import dev.mxd.smtp.EnhancedStatus;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;

/**
 * DANE for SMTP (RFC 7672 §2.2) as a {@link TlsPolicies}: for an MX host whose MX RRset and address records
 * are secure, while DNSSEC validation is on, its TLSA records decide. Secure usable records: TLS is mandatory
 * and authenticated by them ({@link DaneVerifier}); secure records none of which is usable: TLS is mandatory,
 * unauthenticated; no records (a secure or insecure denial) or an insecure answer: opportunistic; a bogus or
 * failed TLSA lookup on the secure zone: the host is not used (deferred, never downgraded, §2.2).
 */
public final class DanePolicies implements TlsPolicies {

    private final BooleanSupplier validating;
    private final Function<String, DnsAnswer> tlsa;
    private final Function<MxHost, Optional<String>> expansion;
    private final Clock clock;

    /**
     * @param validating whether DNSSEC validation is on now (asked per domain: in auto mode it may change)
     * @param tlsa       the TLSA answer at {@code _25._tcp.HOST} for a host name
     */
    public DanePolicies(BooleanSupplier validating, Function<String, DnsAnswer> tlsa, Clock clock) {
        this(validating, tlsa, MxHost::secureExpansion, clock);
    }

    /**
     * @param expansion for a host, the name its addresses were found at through a secure CNAME chain
     *                  (RFC 7672 §2.2.2), empty when it is no alias
     */
    public DanePolicies(BooleanSupplier validating, Function<String, DnsAnswer> tlsa,
                        Function<MxHost, Optional<String>> expansion, Clock clock) {
        this.validating = validating;
        this.tlsa = tlsa;
        this.expansion = expansion;
        this.clock = clock;
    }

    /**
     * DANE from the node's resolver. The expanded name of an alias is the one the MX resolution found with the
     * host's addresses ({@link MxHost#secureExpansion()}), never asked again: a repeat lookup that failed would
     * otherwise look like "no alias" and move the TLSA lookup to a name without records (RFC 7672 §2.1).
     */
    public static DanePolicies of(TlsaLookup lookup) {
        return new DanePolicies(lookup::validating, lookup::lookup, MxHost::secureExpansion, Clock.systemUTC());
    }

    @Override
    public ForDomain forDomain(Destination destination, MxOutcome.Routes routes) {
        if (routes.dnssec() != DnssecStatus.SECURE || !validating.getAsBoolean()) {
            return host -> new HostTls.Opportunistic(); // RFC 7672 §2.2.1: an insecure MX RRset may lead anywhere
        }
        return host -> {
            try {
                return forHost(host);
            } catch (IllegalArgumentException tooLong) { // _25._tcp. before a name of 247 or more octets: no TLSA name (§2.2)
                return new HostTls.Unusable(EnhancedStatus.DNS_FAILURE, "no TLSA name for " + host.name() + ": " + tooLong.getMessage()
                        + "; the host is not used", "tlsa-invalid",
                        new HostTls.ReportedPolicy("tlsa", List.of(), List.of()));
            }
        };
    }

    /** The decision for one host of a secure MX RRset. */
    HostTls forHost(MxHost host) {
        if (host.dnssec() != DnssecStatus.SECURE) {
            return new HostTls.Opportunistic(); // §2.2.2: TLSA only for hosts whose addresses are secure
        }
        // §2.2.2: for a host that is a secure alias, the TLSA base domain is the expanded name when it has TLSA
        // records, else the MX host name; either way both names are reference identifiers for DANE-TA(2). An insecure
        // answer there (the TLSA name a CNAME into an unsigned zone) is no records (§2.2), so the MX host name's own
        // signed records still count, as Postfix tries the original name after an unvalidated answer. Only a failure
        // or a bogus answer there ends the search: either may hide records that exist.
        String base = host.name();
        List<String> references = new ArrayList<>();
        DnsAnswer answer = null;
        Optional<String> expanded = expansion.apply(host);
        if (expanded.isPresent()) {
            DnsAnswer atExpanded = tlsa.apply(expanded.get());
            if (!TlsaLookup.holdsNoRecords(atExpanded)) {
                answer = atExpanded;
                base = expanded.get();
            }
            references.add(expanded.get());
        }
        String owner = TlsaLookup.ownerOf(base).toString(true);
        if (answer == null) {
            answer = tlsa.apply(host.name());
        }
        HostTls.ReportedPolicy reported = new HostTls.ReportedPolicy("tlsa", TlsaLookup.texts(answer), List.of());
        if (answer instanceof DnsAnswer.Failed failed) {
            // A failed lookup is not a proof of absence (§2.2): neither SERVFAIL nor a timeout may turn DANE off.
            boolean bogus = failed.dnssec() == DnssecStatus.BOGUS;
            return new HostTls.Unusable(bogus ? EnhancedStatus.CRYPTOGRAPHIC_FAILURE : EnhancedStatus.DNS_FAILURE,
                    "the TLSA lookup of " + owner + " failed on a DNSSEC-signed zone (" + failed.reason()
                            + "); the host is not used until it answers",
                    bogus ? "dnssec-invalid" : "tlsa-invalid", reported);
        }
        if (answer.dnssec() == DnssecStatus.BOGUS) {
            return new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "the TLSA answer for " + owner + " is bogus",
                    "dnssec-invalid", reported);
        }
        if (!(answer instanceof DnsAnswer.Found found) || answer.dnssec() != DnssecStatus.SECURE) {
            return new HostTls.Opportunistic(); // a secure denial, or an insecure answer (§2.2)
        }
        List<Tlsa> usable = new ArrayList<>();
        for (Record r : found.records()) {
            if (r instanceof TLSARecord t) {
                Tlsa record = new Tlsa(t.getCertificateUsage(), t.getSelector(), t.getMatchingType(), t.getCertificateAssociationData());
                if (record.usable()) {
                    usable.add(record);
                }
            }
        }
        if (usable.isEmpty()) {
            return new HostTls.Encrypted(reported); // §2.2: records, none usable: TLS without authentication
        }
        // A CNAME at the TLSA owner itself does not change the TLSA base domain (RFC 7671 §7).
        // RFC 7672 §8.1: SNI names the TLSA base domain.
        Optional<String> sni = base.equals(host.name()) ? Optional.empty() : Optional.of(base);
        return new HostTls.Authenticated(new DaneVerifier(usable, references, sni, clock), reported);
    }
}
