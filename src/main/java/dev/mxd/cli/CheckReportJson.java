package dev.mxd.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.check.CheckReport;
import dev.mxd.check.Finding;
import dev.mxd.check.HostProbe;
import dev.mxd.check.SecurityReport;
import dev.mxd.smtp.AddressText;
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
        report.security().ifPresent(s -> putSecurity(o, s));
        ArrayNode findings = o.putArray("findings");
        for (Finding f : report.findings()) {
            ObjectNode fn = findings.addObject();
            fn.put("severity", f.severity().label());
            fn.put("host", f.host().orElse(null));
            fn.put("message", f.message());
        }
        return o;
    }

    /**
     * The MX security part, {@code "security"}: for the domain, the DNSSEC validation in force and the MX records'
     * status, the MTA-STS publication and the TLS-RPT record; in {@code "hosts"}, for each MX host, its address
     * records' DNSSEC status, its DANE result and, for a domain with an MTA-STS policy, its MTA-STS checks. The
     * lookup's own {@code "hosts"} stay as {@code mxd lookup --json} prints them.
     */
    private static void putSecurity(ObjectNode o, SecurityReport s) {
        ObjectNode sec = o.putObject("security");
        ObjectNode dnssec = sec.putObject("dnssec");
        dnssec.put("mode", s.validation().mode());
        dnssec.put("validating", s.validation().validating());
        dnssec.put("note", s.validation().note());
        dnssec.put("mx", s.mxDnssec().text());
        ObjectNode sts = sec.putObject("mta_sts");
        sts.put("published", s.mtaSts().policy().isPresent());
        sts.put("failed", s.mtaSts().failed());
        sts.put("detail", s.mtaSts().detail());
        ObjectNode rpt = sec.putObject("tls_rpt");
        rpt.put("status", s.tlsRpt().status().text());
        ArrayNode records = rpt.putArray("records");
        s.tlsRpt().records().forEach(records::add);
        ArrayNode rua = rpt.putArray("rua");
        s.tlsRpt().rua().forEach(u -> rua.add(u.toString()));
        rpt.put("detail", s.tlsRpt().detail());
        ArrayNode hosts = sec.putArray("hosts");
        for (SecurityReport.HostSecurity h : s.hosts()) {
            ObjectNode hs = hosts.addObject();
            hs.put("name", h.host());
            hs.put("dnssec", h.dnssec().text());
            ObjectNode dane = hs.putObject("dane");
            dane.put("status", h.dane().status().text());
            ArrayNode tlsa = dane.putArray("tlsa");
            h.dane().tlsa().forEach(tlsa::add);
            dane.put("detail", h.dane().detail());
            if (h.sts().isEmpty()) {
                hs.putNull("mta_sts");
                continue;
            }
            ObjectNode hsts = hs.putObject("mta_sts");
            hsts.put("mx_matches", h.sts().get().mxMatches());
            ArrayNode certs = hsts.putArray("certificates");
            for (SecurityReport.CertificateCheck c : h.sts().get().certificates()) {
                ObjectNode cn = certs.addObject();
                cn.put("address", c.address());
                cn.put("valid", c.valid());
                cn.put("detail", c.detail());
            }
        }
    }
}
