package dev.mxd.check;

import dev.mxd.dns.MxOutcome;
import java.util.List;

/** Everything {@code mxd check} learned about a domain: the MX resolution, the probe of each address, the findings. */
public record CheckReport(MxOutcome outcome, int port, List<HostProbe> probes, List<Finding> findings) {

    public CheckReport {
        probes = List.copyOf(probes);
        findings = List.copyOf(findings);
    }

    public boolean hasErrors() {
        return findings.stream().anyMatch(f -> f.severity() == Severity.ERROR);
    }

    /** DNS could not answer now, so nothing about the domain's set-up is known yet. */
    public boolean dnsTemporaryFailure() {
        return Findings.dnsTemporaryFailure(outcome);
    }
}
