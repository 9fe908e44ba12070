package dev.mxd.check;

import dev.mxd.dns.MxOutcome;
import java.util.List;
import java.util.Optional;

/**
 * Everything {@code mxd check} learned about a domain: the MX resolution, the probe of each address, its MX
 * security (DNSSEC, DANE, MTA-STS, TLS-RPT; empty when not checked), the findings.
 */
public record CheckReport(MxOutcome outcome, int port, List<HostProbe> probes, Optional<SecurityReport> security,
                          List<Finding> findings) {

    /** Without the security part. */
    public CheckReport(MxOutcome outcome, int port, List<HostProbe> probes, List<Finding> findings) {
        this(outcome, port, probes, Optional.empty(), findings);
    }

    public CheckReport {
        probes = List.copyOf(probes);
        findings = List.copyOf(findings);
    }

    /** This report with {@code security} and its findings added to the others (listed most serious first). */
    public CheckReport withSecurity(SecurityReport security) {
        List<Finding> all = new java.util.ArrayList<>(findings);
        all.addAll(SecurityFindings.of(outcome, security));
        all.sort(java.util.Comparator.comparing(Finding::severity));
        return new CheckReport(outcome, port, probes, Optional.of(security), all);
    }

    public boolean hasErrors() {
        return findings.stream().anyMatch(f -> f.severity() == Severity.ERROR);
    }

    /** DNS could not answer now, so nothing about the domain's set-up is known yet. */
    public boolean dnsTemporaryFailure() {
        return Findings.dnsTemporaryFailure(outcome);
    }
}
