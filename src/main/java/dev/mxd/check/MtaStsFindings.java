package dev.mxd.check;

import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.tls.MtaSts;
import dev.mxd.tls.StsPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code mxd check}'s grading of a domain's MTA-STS policy (RFC 8461) against its real MX set: a policy
 * announced but not fetchable or invalid, and MX hosts its {@code mx} patterns leave out.
 */
public final class MtaStsFindings {

    private MtaStsFindings() {}

    /** The findings for {@code published}, the policy as fetched now, and {@code outcome}, the MX resolution. */
    public static List<Finding> of(MtaSts.Published published, MxOutcome outcome) {
        List<Finding> out = new ArrayList<>();
        if (published.failed()) {
            out.add(Finding.of(Severity.ERROR, "MTA-STS: " + published.detail()
                    + "; senders that know the policy keep their cached copy, new ones deliver without it (RFC 8461 §3.3, §5.1)"));
            return out;
        }
        if (published.policy().isEmpty()) {
            return out; // no policy is the common case; the MTA-STS line of the output says so
        }
        StsPolicy policy = published.policy().get();
        if (policy.mode() == StsPolicy.Mode.NONE) {
            out.add(Finding.of(Severity.NOTE, "MTA-STS policy in mode none: the domain withdrew its policy"));
            return out;
        }
        if (outcome instanceof MxOutcome.Routes routes) {
            for (MxHost h : routes.hosts()) {
                if (!policy.matches(h.name())) {
                    out.add(Finding.about(policy.mode() == StsPolicy.Mode.ENFORCE ? Severity.ERROR : Severity.WARNING, h.name(),
                            "not among the MTA-STS policy's mx " + policy.mx() + (policy.mode() == StsPolicy.Mode.ENFORCE
                                    ? ": senders that enforce the policy never deliver to it" : ": reported as a failure in testing mode")));
                }
            }
        }
        if (policy.mode() == StsPolicy.Mode.TESTING) {
            out.add(Finding.of(Severity.NOTE, "MTA-STS policy in testing mode: failures are reported, mail is delivered anyway"));
        }
        return out;
    }
}
