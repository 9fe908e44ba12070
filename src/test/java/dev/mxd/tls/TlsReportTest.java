package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The report JSON against RFC 8460 §4.3/§4.4's field names, gzip, and §5.1's file name; the §3 record. */
class TlsReportTest {

    private static final HostTls.ReportedPolicy STS = new HostTls.ReportedPolicy("sts",
            List.of("version: STSv1", "mode: testing", "mx: mx.example.org", "max_age: 86400"), List.of("mx.example.org"));

    private static TlsReport report() {
        TlsReportCounts.DomainDayCounts counts = new TlsReportCounts.DomainDayCounts(
                new TlsReportCounts.DayDomain(LocalDate.parse("2026-12-03"), "example.org"), Instant.parse("2026-12-03T00:00:00Z"),
                List.of(new TlsReportCounts.PolicyCounts(HostTls.ReportedPolicy.NONE, 3, 0, Map.of()),
                        new TlsReportCounts.PolicyCounts(STS, 5, 2, Map.of(new TlsReportCounts.FailureDetail("certificate-expired",
                                "mx.example.org", "192.0.2.7", "the certificate expired"), 2L))));
        return new TlsReport("mx.sender.test", "noreply-tlsrpt@mx.sender.test", counts, Instant.parse("2026-12-04T00:00:00Z"));
    }

    @Test
    void theJsonUsesTheRfcsFieldNames() throws Exception {
        JsonNode json = new ObjectMapper().readTree(new GZIPInputStream(new ByteArrayInputStream(report().gzipped())));
        assertThat(json.path("organization-name").asText()).isEqualTo("mx.sender.test");
        assertThat(json.path("date-range").path("start-datetime").asText()).isEqualTo("2026-12-03T00:00:00Z");
        assertThat(json.path("date-range").path("end-datetime").asText()).isEqualTo("2026-12-04T00:00:00Z");
        assertThat(json.path("contact-info").asText()).isEqualTo("noreply-tlsrpt@mx.sender.test");
        assertThat(json.path("report-id").asText()).isEqualTo("2026-12-03T000000Z_2026-12-04T000000Z_example.org@mx.sender.test");
        assertThat(json.path("policies")).hasSize(2);

        JsonNode none = json.path("policies").get(0);
        assertThat(none.path("policy").path("policy-type").asText()).isEqualTo("no-policy-found");
        assertThat(none.path("policy").path("policy-domain").asText()).isEqualTo("example.org");
        assertThat(none.path("policy").has("policy-string")).isFalse();
        assertThat(none.path("summary").path("total-successful-session-count").asLong()).isEqualTo(3);
        assertThat(none.path("summary").path("total-failure-session-count").asLong()).isZero();
        assertThat(none.has("failure-details")).isFalse();

        JsonNode sts = json.path("policies").get(1);
        assertThat(sts.path("policy").path("policy-type").asText()).isEqualTo("sts");
        assertThat(sts.path("policy").path("policy-string")).hasSize(4);
        assertThat(sts.path("policy").path("policy-string").get(1).asText()).isEqualTo("mode: testing");
        assertThat(sts.path("policy").path("mx-host").get(0).asText()).isEqualTo("mx.example.org");
        assertThat(sts.path("summary").path("total-successful-session-count").asLong()).isEqualTo(5);
        assertThat(sts.path("summary").path("total-failure-session-count").asLong()).isEqualTo(2);
        JsonNode detail = sts.path("failure-details").get(0);
        assertThat(detail.path("result-type").asText()).isEqualTo("certificate-expired");
        assertThat(detail.path("receiving-mx-hostname").asText()).isEqualTo("mx.example.org");
        assertThat(detail.path("receiving-ip").asText()).isEqualTo("192.0.2.7");
        assertThat(detail.path("failed-session-count").asLong()).isEqualTo(2);
        assertThat(detail.path("failure-reason-code").asText()).isEqualTo("the certificate expired");
        List<String> fields = new java.util.ArrayList<>();
        detail.fieldNames().forEachRemaining(fields::add);
        assertThat(fields).allMatch(f -> List.of("result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
                "receiving-ip", "failed-session-count", "additional-information", "failure-reason-code").contains(f));
    }

    @Test
    void theFileNameIsSubmitterDomainAndEpochSeconds() {
        assertThat(report().fileName()).isEqualTo("mx.sender.test!example.org!1796256000!1796342400.json.gz");
    }

    @Test
    void theRecordNamesMailtoAndHttpsAddresses() {
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:reports@example.org,https://tlsrpt.example.org/v1"))
                .map(TlsRptRecord::rua).get().asString()
                .isEqualTo("[mailto:reports@example.org, https://tlsrpt.example.org/v1]");
        assertThat(TlsRptRecord.parse("v=TLSRPTv1;rua=mailto:a@example.org")).isPresent();
        assertThat(TlsRptRecord.parse("v=TLSRPTv2; rua=mailto:a@example.org")).isEmpty();
        assertThat(TlsRptRecord.parse("v=spf1 -all")).isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; rua=ftp://example.org/x")).isEmpty();
    }

    @Test
    void theRecordFollowsRfc8460Section3() {
        assertThat(TlsRptRecord.choose(List.of("v=TLSRPTv1; rua=ftp://x.example/r", "v=TLSRPTv1; rua=mailto:a@b.example")))
                .as("two records begin v=TLSRPTv1;: none is used").isEmpty();
        assertThat(TlsRptRecord.choose(List.of("v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.example"))).isPresent();
        assertThat(TlsRptRecord.parse(" v=TLSRPTv1; rua=mailto:a@b.example")).isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1 ; rua=mailto:a@b.example")).isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; RUA=mailto:a@b.example")).as("rua= is case-sensitive").isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:a1@b.example,mailto:a2@b.example,mailto:a3@b.example,"
                + "mailto:a4@b.example,https://r.b.example/5,https://r.b.example/6,mailto:a7@b.example"))
                .get().extracting(r -> r.rua().size()).isEqualTo(TlsRptRecord.MAX_RUA);
    }
}
