package dev.mxd.tls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * One TLS-RPT aggregate report (RFC 8460 §4): a policy domain's counts over a date range, as the JSON
 * of §4.3/§4.4, gzipped (§5), with the file name §5.1 asks for.
 *
 * @param submitter    the reporting organization's domain (this host's name): §5.1's submitter and the
 *                     organization-name
 * @param contact      contact-info (the address report mail comes from)
 * @param counts       what was counted
 * @param until        the end of the date range (the day's end, or earlier for a report sent on demand)
 * @param uniqueId     §5.1's optional unique-id, in the report-id and the file name, so two reports of the
 *                     same range (a day sent again after a failed attempt) never share either; empty for none
 */
public record TlsReport(String submitter, String contact, TlsReportCounts.DomainDayCounts counts, Instant until, String uniqueId) {

    /** A report without a unique-id. */
    public TlsReport(String submitter, String contact, TlsReportCounts.DomainDayCounts counts, Instant until) {
        this(submitter, contact, counts, until, "");
    }

    public TlsReport {
        if (!uniqueId.matches("[A-Za-z0-9-]*")) {
            throw new IllegalArgumentException("a unique-id is letters, digits and '-': " + uniqueId);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter RFC3339 = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    /** The policy domain reported on. */
    public String domain() {
        return counts.key().domain();
    }

    /**
     * The report-id (§4.4): the range's start and end, the domain and the unique-id, in the form of a
     * message id; unique per submitter as long as unique-ids are.
     */
    public String reportId() {
        return RFC3339.format(counts.from()).replace(":", "") + "_" + RFC3339.format(until).replace(":", "") + "_" + domain()
                + (uniqueId.isEmpty() ? "" : "_" + uniqueId) + "@" + submitter;
    }

    /** The report as §4.4's JSON object. */
    public ObjectNode json() {
        ObjectNode root = JSON.createObjectNode();
        root.put("organization-name", submitter);
        ObjectNode range = root.putObject("date-range");
        range.put("start-datetime", RFC3339.format(counts.from()));
        range.put("end-datetime", RFC3339.format(until.truncatedTo(ChronoUnit.SECONDS)));
        root.put("contact-info", contact);
        root.put("report-id", reportId());
        ArrayNode policies = root.putArray("policies");
        for (TlsReportCounts.PolicyCounts p : counts.policies()) {
            ObjectNode entry = policies.addObject();
            ObjectNode policy = entry.putObject("policy");
            policy.put("policy-type", p.policy().type());
            if (!p.policy().strings().isEmpty()) {
                p.policy().strings().forEach(policy.putArray("policy-string")::add);
            }
            policy.put("policy-domain", domain());
            if (!p.policy().mxHosts().isEmpty()) {
                p.policy().mxHosts().forEach(policy.putArray("mx-host")::add);
            }
            ObjectNode summary = entry.putObject("summary");
            summary.put("total-successful-session-count", p.successes());
            summary.put("total-failure-session-count", p.failures());
            if (!p.details().isEmpty()) {
                ArrayNode details = entry.putArray("failure-details");
                for (Map.Entry<TlsReportCounts.FailureDetail, Long> e : p.details().entrySet()) {
                    TlsReportCounts.FailureDetail d = e.getKey();
                    ObjectNode row = details.addObject();
                    row.put("result-type", d.resultType());
                    if (!d.receivingMx().isEmpty()) {
                        row.put("receiving-mx-hostname", d.receivingMx());
                    }
                    if (!d.receivingIp().isEmpty()) {
                        row.put("receiving-ip", d.receivingIp());
                    }
                    row.put("failed-session-count", e.getValue());
                    if (!d.reasonCode().isEmpty()) {
                        row.put("failure-reason-code", d.reasonCode());
                    }
                }
            }
        }
        return root;
    }

    /** The JSON, gzipped (§5: application/tlsrpt+gzip). */
    public byte[] gzipped() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(json()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * §5.1: {@code submitter!policy-domain!begin-timestamp!end-timestamp[!unique-id].json.gz}, timestamps in
     * seconds since the epoch.
     */
    public String fileName() {
        return submitter + "!" + domain() + "!" + counts.from().getEpochSecond() + "!" + until.getEpochSecond()
                + (uniqueId.isEmpty() ? "" : "!" + uniqueId) + ".json.gz";
    }
}
