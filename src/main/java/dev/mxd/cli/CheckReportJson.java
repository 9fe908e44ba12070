package dev.mxd.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.check.CheckReport;
import dev.mxd.check.Finding;
import dev.mxd.check.HostProbe;
import dev.mxd.dns.AddressText;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.ProbeResult;

/**
 * The JSON form of a {@link CheckReport}, as {@code mxd check --json} prints it: the fields of
 * {@code mxd lookup --json} (from {@link MxOutcomeJson}, same names) plus "port", "probes" and "findings".
 */
final class CheckReportJson {

    private CheckReportJson() {}

    static ObjectNode of(CheckReport report) {
        ObjectNode o = MxOutcomeJson.of(report.outcome());
        o.put("port", report.port());
        ArrayNode probes = o.putArray("probes");
        for (HostProbe p : report.probes()) {
            ObjectNode pn = probes.addObject();
            ProbeResult r = p.result();
            pn.put("host", p.host());
            pn.put("preference", p.preference());
            pn.put("address", AddressText.of(p.address()));
            pn.put("port", p.port());
            if (r.connectMillis().isPresent()) {
                pn.put("connectMillis", r.connectMillis().getAsLong());
            } else {
                pn.putNull("connectMillis");
            }
            pn.put("banner", r.banner().map(SmtpReply::summary).orElse(null));
            ArrayNode ehlo = pn.putArray("ehlo");
            ObjectNode extensions = pn.putObject("extensions");
            if (r instanceof ProbeResult.Reached reached) {
                reached.hello().lines().forEach(ehlo::add);
                reached.extensions().keywords().forEach((k, params) -> {
                    ArrayNode pa = extensions.putArray(k);
                    params.forEach(pa::add);
                });
                pn.put("esmtp", reached.esmtp());
                pn.put("starttls", reached.starttls());
                pn.putNull("failure");
                pn.putNull("error");
            } else {
                ProbeResult.Failed f = (ProbeResult.Failed) r;
                f.reply().filter(reply -> reply != f.banner().orElse(null)).ifPresent(reply -> reply.lines().forEach(ehlo::add));
                pn.put("esmtp", false);
                pn.put("starttls", false);
                pn.put("failure", f.code());
                pn.put("error", f.detail());
            }
        }
        ArrayNode findings = o.putArray("findings");
        for (Finding f : report.findings()) {
            ObjectNode fn = findings.addObject();
            fn.put("severity", f.severity().label());
            fn.put("host", f.host().orElse(null));
            fn.put("message", f.message());
        }
        return o;
    }
}
