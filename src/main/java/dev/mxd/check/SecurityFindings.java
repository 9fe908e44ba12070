package dev.mxd.check;

import dev.mxd.check.SecurityReport.CertificateCheck;
import dev.mxd.check.SecurityReport.Dane;
import dev.mxd.check.SecurityReport.DaneStatus;
import dev.mxd.check.SecurityReport.HostSecurity;
import dev.mxd.check.SecurityReport.RptStatus;
import dev.mxd.check.SecurityReport.Sts;
import dev.mxd.check.SecurityReport.TlsRpt;
import dev.mxd.smtp.AddressText;
import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MxOutcome;
import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.StsPolicy;
import dev.mxd.tls.TlsRptRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.TXTRecord;

/**
 * Grades a domain's MX security for {@code mxd check}, and turns the raw results (a DANE decision, the
 * certificates the probes saw, a TXT answer) into a {@link SecurityReport}'s parts. Pure functions of their
 * inputs, so every rule is unit-tested without a network. The grades follow what a sender that uses the
 * mechanism does: what makes such a sender defer or skip a host is an {@link Severity#ERROR}; what
 * weakens the protection or breaks an RFC without stopping mail is a {@link Severity#WARNING}; the rest,
 * including a host DANE authenticates, is a {@link Severity#NOTE}.
 */
public final class SecurityFindings {

    /** An MTA-STS max_age below a day is worth a note: RFC 8461 §3.2 recommends weeks, so a policy outlives an attack. */
    static final long SHORT_MAX_AGE = 86_400;

    private SecurityFindings() {}

    /** All findings of {@code report} about {@code outcome}'s domain, errors first. */
    public static List<Finding> of(MxOutcome outcome, SecurityReport report) {
        List<Finding> out = new ArrayList<>(dnssec(outcome, report));
        for (HostSecurity h : report.hosts()) {
            dane(h, out);
        }
        out.addAll(MtaStsFindings.of(report.mtaSts(), outcome));
        report.mtaSts().policy().ifPresent(p -> mtaSts(p, report.hosts(), out));
        tlsRpt(report, out);
        out.sort(Comparator.comparing(Finding::severity));
        return List.copyOf(out);
    }

    /** The DNSSEC status of the MX chain under the validation in force. */
    static List<Finding> dnssec(MxOutcome outcome, SecurityReport report) {
        List<Finding> out = new ArrayList<>();
        SecurityReport.Validation v = report.validation();
        String d = outcome.domain().ascii();
        if (!(outcome instanceof MxOutcome.Routes)) {
            return out; // no MX host to secure; a bogus MX answer (which is why there is none) is a finding of the MX lookup
        }
        if (!v.validating()) {
            out.add(Finding.of(Severity.NOTE, "DNSSEC validation was off for this check (--dnssec " + v.mode() + ": " + v.note()
                    + "): the MX chain's status and DANE could not be checked; run it against a validating resolver"
                    + " or with --trust-anchor"));
            return out;
        }
        if (report.mxDnssec() == DnssecStatus.BOGUS) {
            out.add(Findings.bogusMxRecords(d));
            return out;
        }
        if (report.mxDnssec() == DnssecStatus.INSECURE) {
            out.add(Finding.of(Severity.NOTE, d + "'s MX records are not DNSSEC-signed (insecure): DANE cannot apply to its"
                    + " MX hosts (RFC 7672 §2.2.1); sign the zone to let senders authenticate them"));
            return out;
        }
        for (HostSecurity h : report.hosts()) {
            if (h.dnssec() == DnssecStatus.BOGUS) {
                out.add(Finding.about(Severity.ERROR, h.host(), "the DNSSEC signatures of " + h.host() + "'s address records"
                        + " do not validate (bogus): validating senders do not use it; fix its zone's signatures"));
            } else if (h.dnssec() == DnssecStatus.INSECURE) {
                out.add(Finding.about(Severity.NOTE, h.host(), h.host() + "'s address records are not DNSSEC-signed (insecure):"
                        + " DANE cannot apply to it (RFC 7672 §2.2.2); sign the zone it is in"));
            }
        }
        return out;
    }

    private static void dane(HostSecurity h, List<Finding> out) {
        Dane dane = h.dane();
        switch (dane.status()) {
            case AUTHENTICATED -> out.add(Finding.about(Severity.NOTE, h.host(), "authenticated by " + dane.detail()));
            case MISMATCH -> out.add(Finding.about(Severity.ERROR, h.host(), dane.detail() + ": DANE senders defer all mail"
                    + " to this host (RFC 7672 §2.2); publish TLSA records for the certificate it presents, or present the one"
                    + " they name"));
            case UNUSABLE_RECORDS -> out.add(Finding.about(Severity.WARNING, h.host(), "TLSA records " + dane.tlsa() + " but none"
                    + " usable for SMTP (RFC 7672 §3.1: only DANE-TA(2) and DANE-EE(3) with known selector and matching type):"
                    + " DANE senders insist on TLS without authenticating the host; publish a DANE-EE(3) or DANE-TA(2) record"));
            case LOOKUP_FAILED -> out.add(Finding.about(Severity.ERROR, h.host(), dane.detail() + ": DANE senders defer all mail"
                    + " to this host until the TLSA lookup answers (RFC 7672 §2.2); fix the zone's TLSA records or signatures"));
            case NOT_TESTED -> out.add(Finding.about(Severity.WARNING, h.host(), "TLSA records " + dane.tlsa() + " could not be"
                    + " checked: " + dane.detail()));
            case NOT_APPLICABLE, NO_RECORDS -> { }
        }
    }

    /**
     * DANE for one host from the {@link HostTls} decision DANE made for it ({@code applies}: validation on and the MX
     * chain and host secure) and the TLS sessions its addresses gave.
     */
    static Dane dane(boolean applies, HostTls decision, String host, List<HostProbe> probes) {
        List<String> tlsa = decision.policy().strings();
        if (!applies) {
            return new Dane(DaneStatus.NOT_APPLICABLE, List.of(), "DNSSEC does not cover the MX chain of " + host);
        }
        if (decision instanceof HostTls.Unusable u) {
            return new Dane(DaneStatus.LOOKUP_FAILED, tlsa, u.reason());
        }
        if (decision instanceof HostTls.Encrypted) {
            return new Dane(DaneStatus.UNUSABLE_RECORDS, tlsa, "no TLSA record of " + host + " is usable for SMTP");
        }
        if (!(decision instanceof HostTls.Authenticated a)) {
            return new Dane(DaneStatus.NO_RECORDS, tlsa, "no secure TLSA records at _25._tcp." + host);
        }
        List<String> matched = new ArrayList<>();
        List<String> untested = new ArrayList<>();
        for (HostProbe p : probes) {
            String at = AddressText.of(p.address());
            Optional<ProbeResult.Tls> tls = p.result() instanceof ProbeResult.Reached r ? r.tls() : Optional.empty();
            if (tls.isPresent() && tls.get() instanceof ProbeResult.Tls.Presented presented) {
                try {
                    matched.add(a.authentication().verify(presented.chain(), host) + " at " + at);
                } catch (ServerAuthentication.Rejected e) {
                    return new Dane(DaneStatus.MISMATCH, tlsa, host + " (" + at + "): " + e.getMessage());
                }
            } else if (p.result() instanceof ProbeResult.Reached r && !r.starttls()) {
                return new Dane(DaneStatus.MISMATCH, tlsa, host + " (" + at + ") publishes TLSA records but does not offer STARTTLS");
            } else {
                untested.add(at + (tls.isPresent() && tls.get() instanceof ProbeResult.Tls.Failed f ? " (" + f.detail() + ")"
                        : " (no SMTP session)"));
            }
        }
        if (matched.isEmpty()) {
            return new Dane(DaneStatus.NOT_TESTED, tlsa, "no TLS session with " + host + " to check them against"
                    + (untested.isEmpty() ? "" : ": " + String.join(", ", untested)));
        }
        return new Dane(DaneStatus.AUTHENTICATED, tlsa, String.join("; ", matched)
                + (untested.isEmpty() ? "" : "; not tested at " + String.join(", ", untested)));
    }

    /** MTA-STS for one host: the policy's mx patterns, and each presented certificate under the Web PKI ({@code pki}). */
    static Sts sts(StsPolicy policy, String host, List<HostProbe> probes, ServerAuthentication pki) {
        List<CertificateCheck> checks = new ArrayList<>();
        for (HostProbe p : probes) {
            String at = AddressText.of(p.address());
            if (!(p.result() instanceof ProbeResult.Reached r)) {
                continue; // the probe's own finding says why
            }
            Optional<ProbeResult.Tls> tls = r.tls();
            if (tls.isPresent() && tls.get() instanceof ProbeResult.Tls.Presented presented) {
                try {
                    checks.add(new CertificateCheck(at, true, pki.verify(presented.chain(), host)));
                } catch (ServerAuthentication.Rejected e) {
                    checks.add(new CertificateCheck(at, false, e.getMessage()));
                }
            } else {
                checks.add(new CertificateCheck(at, false, r.starttls() ? "the TLS handshake failed"
                        + tls.map(t -> t instanceof ProbeResult.Tls.Failed f ? ": " + f.detail() : "").orElse("")
                        : "no STARTTLS offered"));
            }
        }
        return new Sts(policy.matches(host), checks);
    }

    private static void mtaSts(StsPolicy policy, List<HostSecurity> hosts, List<Finding> out) {
        if (policy.mode() == StsPolicy.Mode.NONE) {
            return;
        }
        boolean enforce = policy.mode() == StsPolicy.Mode.ENFORCE;
        for (HostSecurity h : hosts) {
            if (h.sts().isEmpty()) {
                continue;
            }
            for (CertificateCheck c : h.sts().get().certificates()) {
                if (!c.valid()) {
                    out.add(Finding.about(enforce ? Severity.ERROR : Severity.WARNING, h.host(), h.host() + " (" + c.address()
                            + ") fails MTA-STS's certificate check (RFC 8461 §4.2): " + c.detail() + (enforce
                            ? "; senders that enforce the policy defer its mail" : "; reported as a failure in testing mode")
                            + "; give it a certificate for its MX name from a CA the senders trust"));
                }
            }
        }
        if (policy.maxAge() < SHORT_MAX_AGE) {
            out.add(Finding.of(Severity.NOTE, "the MTA-STS policy's max_age is " + policy.maxAge() + " s: senders forget it"
                    + " quickly, and an attacker who blocks the policy fetch for that long disables it; RFC 8461 §3.2"
                    + " recommends weeks (e.g. 604800 or more)"));
        }
    }

    private static void tlsRpt(SecurityReport report, List<Finding> out) {
        TlsRpt rpt = report.tlsRpt();
        boolean published = report.mtaSts().policy().isPresent()
                || report.hosts().stream().anyMatch(h -> !h.dane().tlsa().isEmpty());
        switch (rpt.status()) {
            case ABSENT -> {
                if (published) {
                    out.add(Finding.of(Severity.NOTE, "no TLS-RPT record at _smtp._tls (RFC 8460 §3): senders cannot tell the"
                            + " domain when DANE or MTA-STS makes them defer its mail; publish \"v=TLSRPTv1; rua=mailto:...\""));
                }
            }
            case MALFORMED -> out.add(Finding.of(Severity.WARNING, "the TLS-RPT record at _smtp._tls is not usable: " + rpt.detail()
                    + "; senders send no TLS reports (RFC 8460 §3)"));
            case LOOKUP_FAILED -> out.add(Finding.of(Severity.WARNING, "the TLS-RPT record at _smtp._tls could not be looked up: "
                    + rpt.detail()));
            case PRESENT -> { }
        }
    }

    /** The TLS-RPT record from the TXT answer at {@code _smtp._tls.DOMAIN}, parsed by {@link TlsRptRecord#parse}. */
    static TlsRpt tlsRpt(DnsAnswer answer) {
        if (answer instanceof DnsAnswer.Failed f) {
            return new TlsRpt(RptStatus.LOOKUP_FAILED, List.of(), List.of(), f.reason());
        }
        if (!(answer instanceof DnsAnswer.Found found)) {
            return new TlsRpt(RptStatus.ABSENT, List.of(), List.of(), "no TXT record at " + answer.name());
        }
        // Senders keep the records that begin with "v=TLSRPTv1;" (RFC 8460 §3); one that only nearly does (a space before
        // the semicolon) is named when it is the only one
        List<String> texts = new ArrayList<>();
        List<String> near = new ArrayList<>();
        for (var r : found.records()) {
            String text = r instanceof TXTRecord txt ? String.join("", txt.getStrings()) : "";
            if (text.startsWith("v=TLSRPTv1;")) {
                texts.add(text);
            } else if (text.startsWith("v=TLSRPTv1")) {
                near.add(text);
            }
        }
        if (texts.isEmpty() && !near.isEmpty()) {
            return new TlsRpt(RptStatus.MALFORMED, near, List.of(), "\"" + near.get(0) + "\" does not begin with"
                    + " \"v=TLSRPTv1;\" (RFC 8460 §3: senders discard it); write the semicolon right after the version");
        }
        if (texts.isEmpty()) {
            return new TlsRpt(RptStatus.ABSENT, List.of(), List.of(), "no TXT record starting with v=TLSRPTv1");
        }
        if (texts.size() > 1) {
            return new TlsRpt(RptStatus.MALFORMED, texts, List.of(), texts.size() + " records start with v=TLSRPTv1, where"
                    + " exactly one must");
        }
        Optional<TlsRptRecord> parsed = TlsRptRecord.parse(texts.get(0));
        if (parsed.isEmpty()) {
            return new TlsRpt(RptStatus.MALFORMED, texts, List.of(), "\"" + texts.get(0) + "\" names no mailto: or https:"
                    + " rua address in the record's syntax");
        }
        return new TlsRpt(RptStatus.PRESENT, texts, parsed.get().rua(), "reports to " + parsed.get().rua());
    }
}
