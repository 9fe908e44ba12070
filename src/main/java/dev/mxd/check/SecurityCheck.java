package dev.mxd.check;

import dev.mxd.check.SecurityReport.HostSecurity;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.TlsaLookup;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.tls.DanePolicies;
import dev.mxd.tls.MtaSts;
import dev.mxd.tls.PolicyFetcher;
import dev.mxd.tls.StsPolicy;
import dev.mxd.tls.TlsPolicies;
import dev.mxd.tls.WebPki;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Gathers a domain's MX security for {@code mxd check}: asks DANE ({@link DanePolicies}, the same decision delivery
 * takes) for each MX host and checks its TLSA records against the certificate chains the SMTP probes saw; fetches
 * the MTA-STS policy and checks each MX certificate under the Web PKI; looks up the TLS-RPT record. DNS goes
 * through the check's own {@link DnsClient}, so the DNSSEC validation in force is the one the options chose.
 */
public final class SecurityCheck {

    private final DnsClient dns;
    private final PolicyFetcher fetcher;
    private final WebPki pki;
    private final String mode;

    /**
     * @param mode the DNSSEC mode as given ({@code auto}, {@code validate}, {@code off}), for the findings' text
     */
    public SecurityCheck(DnsClient dns, PolicyFetcher fetcher, WebPki pki, String mode) {
        this.dns = dns;
        this.fetcher = fetcher;
        this.pki = pki;
        this.mode = mode;
    }

    /** The security of {@code outcome}'s domain, given the probes of its MX addresses. */
    public SecurityReport check(MxOutcome outcome, List<HostProbe> probes) {
        boolean validating = dns.validating();
        SecurityReport.Validation validation = new SecurityReport.Validation(mode, validating, dns.dnssecNote());
        String domain = outcome.domain().ascii();
        MtaSts.Published sts = outcome instanceof MxOutcome.Routes
                ? MtaSts.published(dns, fetcher, domain)
                : new MtaSts.Published(Optional.empty(), "not looked up: the domain has no MX host to check", false);
        List<HostSecurity> hosts = new ArrayList<>();
        if (outcome instanceof MxOutcome.Routes routes) {
            TlsaLookup tlsa = new TlsaLookup(dns);
            TlsPolicies.ForDomain dane = DanePolicies.of(tlsa).forDomain(new TlsPolicies.Destination(domain, false), routes);
            ServerAuthentication webPki = pki.mxAuthentication();
            for (MxHost h : routes.hosts()) {
                List<HostProbe> mine = probes.stream().filter(p -> p.host().equals(h.name())).toList();
                boolean applies = validating && routes.dnssec() == DnssecStatus.SECURE && h.dnssec() == DnssecStatus.SECURE;
                SecurityReport.Dane d = SecurityFindings.dane(applies, dane.forHost(h), h.name(), mine);
                Optional<SecurityReport.Sts> s = sts.policy().filter(p -> p.mode() != StsPolicy.Mode.NONE)
                        .map(p -> SecurityFindings.sts(p, h.name(), mine, webPki));
                hosts.add(new HostSecurity(h.name(), h.dnssec(), d, s));
            }
        }
        // a domain whose MX lookup failed for now is not asked again for its TLS-RPT record: the same servers would
        // make the check wait its whole timeout once more (a dead DNS server took the check 16 s instead of 10)
        SecurityReport.TlsRpt rpt = outcome instanceof MxOutcome.TemporaryFailure
                ? new SecurityReport.TlsRpt(SecurityReport.RptStatus.LOOKUP_FAILED, List.of(), List.of(),
                        "not asked, as the MX lookup failed for now and the same servers would be asked")
                : tlsRpt(domain);
        return new SecurityReport(validation, outcome.dnssec(), hosts, sts, rpt);
    }

    private SecurityReport.TlsRpt tlsRpt(String domain) {
        Name name;
        try {
            name = Name.fromString("_smtp._tls." + domain + ".");
        } catch (TextParseException e) {
            return new SecurityReport.TlsRpt(SecurityReport.RptStatus.ABSENT, List.of(), List.of(), "not a domain name: " + domain);
        }
        return SecurityFindings.tlsRpt(dns.query(name, Type.TXT));
    }
}
