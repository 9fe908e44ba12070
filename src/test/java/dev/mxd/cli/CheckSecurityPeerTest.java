package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.DaneZone;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PolicyServer;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.TestDirs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code mxd check} grades MX security against real peers: Knot serves {@code dane.test} signed with right and
 * wrong TLSA records ({@link DaneZone}), validated from the zone's anchor; the MX is a real Postfix smtpd
 * offering STARTTLS with the zone's certificate chain (a private CA's, for mx-ta.dane.test); a real HTTPS
 * server ({@link PolicyServer}) serves the MTA-STS policies of good.dane.test and stsbad.dane.test with a
 * certificate from the same CA, which {@code --ca-file} trusts.
 */
@PeerTest
class CheckSecurityPeerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static DaneZone zone;
    private static Path dir;
    private static PostfixServer postfix;
    private static PolicyServer web;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        zone = DaneZone.start();
        dir = Files.createTempDirectory("mxd-check-security");
        Path root = dir.resolve("web");
        PolicyServer.policy(root, "good.dane.test", "enforce", 604800, "mx-ta.dane.test");
        PolicyServer.policy(root, "stsbad.dane.test", "enforce", 3600, "other.dane.test");
        Certificates.issuedBy(zone.ca(), zone.caKey(), dir.resolve("web.pem"), dir.resolve("web.key"),
                "mta-sts.good.dane.test", "mta-sts.stsbad.dane.test");
        web = PolicyServer.start(dir, root, DaneZone.POLICY_SERVER, 443, dir.resolve("web.pem"), dir.resolve("web.key"),
                dir.resolve("web-requests.log"));
        port = FreePort.tcpOn("127.0.0.1");
        postfix = PostfixServer.start("127.0.0.1:" + port, "good.dane.test, wrong.dane.test, stsbad.dane.test",
                "[127.0.0.1]:" + FreePort.tcpOn("127.0.0.1"),
                List.of("smtpd_tls_cert_file = " + zone.chain(), "smtpd_tls_key_file = " + zone.key()));
    }

    @AfterAll
    static void stop() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        if (web != null) {
            web.close();
        }
        if (zone != null) {
            zone.close();
        }
        if (dir != null) {
            TestDirs.deleteTree(dir);
        }
    }

    private record Run(int exit, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + out + "\nstderr: " + err, e);
            }
        }
    }

    private static Run check(String domain, String... more) {
        List<String> args = new ArrayList<>(List.of("check", domain, "--dns", "127.0.0.1:" + zone.knot().port(),
                "--dnssec", "validate", "--trust-anchor", zone.anchor().toString(), "--ca-file", zone.ca().toString(),
                "--port", String.valueOf(port), "--timeout", "10s"));
        args.addAll(List.of(more));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    private static List<JsonNode> findings(JsonNode report, String severity) {
        return StreamSupport.stream(report.get("findings").spliterator(), false)
                .filter(f -> f.get("severity").asText().equals(severity)).toList();
    }

    @Test
    void aSecureChainWithMatchingTlsaAndAValidPolicyPassesAndSaysHowTheHostIsAuthenticated() {
        Run run = check("good.dane.test", "--json");
        JsonNode r = run.json();
        assertThat(findings(r, "error")).as(run.out()).isEmpty();
        assertThat(run.exit()).as(run.out() + run.err()).isZero();
        JsonNode security = r.get("security");
        assertThat(security.get("dnssec").get("validating").asBoolean()).isTrue();
        assertThat(security.get("dnssec").get("mx").asText()).isEqualTo("secure");
        JsonNode host = security.get("hosts").get(0);
        assertThat(host.get("name").asText()).isEqualTo("mx-ta.dane.test");
        assertThat(host.get("dnssec").asText()).isEqualTo("secure");
        assertThat(host.get("dane").get("status").asText()).isEqualTo("authenticated");
        assertThat(host.get("dane").get("tlsa")).hasSize(1);
        assertThat(host.get("mta_sts").get("mx_matches").asBoolean()).isTrue();
        assertThat(host.get("mta_sts").get("certificates")).singleElement()
                .satisfies(c -> assertThat(c.get("valid").asBoolean()).as(c.toString()).isTrue());
        assertThat(security.get("mta_sts").get("published").asBoolean()).isTrue();
        assertThat(security.get("tls_rpt").get("status").asText()).isEqualTo("present");
        assertThat(security.get("tls_rpt").get("rua").get(0).asText()).isEqualTo("mailto:tlsrpt@dane.test");
        assertThat(r.get("mta_sts").get("mode").asText()).isEqualTo("enforce");
        assertThat(findings(r, "note")).anySatisfy(f -> {
            assertThat(f.get("host").asText()).isEqualTo("mx-ta.dane.test");
            assertThat(f.get("message").asText()).startsWith("authenticated by DANE-TA(2) Cert SHA2-256");
        });
        assertThat(findings(r, "warning")).noneSatisfy(f -> assertThat(f.get("message").asText())
                .containsAnyOf("TLS-RPT", "MTA-STS", "TLSA", "DNSSEC"));
    }

    @Test
    void theTextOutputHasAnMxSecurityPart() {
        Run run = check("good.dane.test");
        assertThat(run.exit()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("MX security:").contains("validating (--dnssec validate), MX records secure")
                .contains("DANE:     authenticated").contains("TLS-RPT:  present");
    }

    @Test
    void aTlsaRecordTheServerCertificateDoesNotMatchIsAnError() {
        Run run = check("wrong.dane.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(1);
        JsonNode r = run.json();
        assertThat(r.get("security").get("hosts").get(0).get("dane").get("status").asText()).isEqualTo("mismatch");
        assertThat(findings(r, "error")).singleElement().satisfies(f -> {
            assertThat(f.get("host").asText()).isEqualTo("mx-wrong.dane.test");
            assertThat(f.get("message").asText()).contains("no TLSA record").contains("DANE senders defer");
        });
        // DANE is published and there is no TLS-RPT record: nobody would hear of the deferrals.
        assertThat(findings(r, "note")).anySatisfy(f -> assertThat(f.get("message").asText()).contains("no TLS-RPT record"));
    }

    @Test
    void aPolicyThatLeavesOutTheMxAShortMaxAgeAndABadTlsRptRecordAreGraded() {
        Run run = check("stsbad.dane.test", "--json");
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(1);
        JsonNode r = run.json();
        assertThat(r.get("security").get("hosts").get(0).get("mta_sts").get("mx_matches").asBoolean()).isFalse();
        assertThat(findings(r, "error")).singleElement().satisfies(f -> {
            assertThat(f.get("host").asText()).isEqualTo("mx-ta.dane.test");
            assertThat(f.get("message").asText()).contains("not among the MTA-STS policy's mx");
        });
        assertThat(findings(r, "warning")).anySatisfy(f -> assertThat(f.get("message").asText())
                .contains("TLS-RPT record at _smtp._tls is not usable"));
        assertThat(findings(r, "note")).anySatisfy(f -> assertThat(f.get("message").asText()).contains("max_age is 3600"));
        assertThat(r.get("security").get("tls_rpt").get("status").asText()).isEqualTo("malformed");
    }
}
