package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.Route;
import dev.mxd.queue.Spool;
import dev.mxd.testing.PeerTest;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsReport;
import dev.mxd.tls.TlsReportCounts;
import dev.mxd.tls.TlsRptRecord;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 8460 §3: report mail carries a valid DKIM signature of the reporting domain. The signed report
 * mail is checked by a real verifier, dkimpy (Debian python3-dkim), given the selector's public key
 * as its TXT record would publish it.
 */
@PeerTest
class TlsReportDkimPeerTest {

    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @TempDir
    Path dir;

    private record Verdict(int exit, String output) {}

    private static Verdict verify(byte[] message, String publicKey) throws Exception {
        Path script = Path.of(TlsReportDkimPeerTest.class.getResource("/dkim/verify.py").toURI());
        Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), publicKey).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(message);
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("dkimpy answers").isTrue();
        return new Verdict(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void reportMailIsSignedAsTheSubmitterAndDkimpyVerifiesItUntilTheBodyChanges() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        KeyPair pair = gen.generateKeyPair();
        String publicKey = Base64.getEncoder().encodeToString(pair.getPublic().getEncoded());
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        TlsReportSender.Settings settings = TlsReportSender.Settings.of("mx.sender.test")
                .signedBy(DkimSigner.forReports("reports.sender.test", "tlsrpt", pair.getPrivate()));
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = new TlsReportSender(settings, counts,
                     d -> TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:tls-reports@example.org"), spool,
                     to -> Optional.of(new Route.Relay(to.domainKey())), (uri, body) -> { }, clock)) {
            counts.record("example.org", "mx.example.org", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            TlsReportCounts.DomainDayCounts day = counts.ended(LocalDate.now(ZoneOffset.UTC), true).get(0);
            // RFC 8460 §5.3: the submitter matches the contact-info's domain, and From: is in the signing domain.
            assertThat(settings.reportMailFrom()).isEqualTo("noreply-tlsrpt@reports.sender.test");
            TlsReport report = new TlsReport(settings.submitter(), settings.reportMailFrom(), day, clock.instant(), "abcd1234");
            byte[] signed = sender.message(report, "tls-reports@example.org");
            String text = new String(signed, StandardCharsets.US_ASCII);

            assertThat(text).startsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=reports.sender.test; s=tlsrpt;")
                    .contains("h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:TLS-Report-Domain:TLS-Report-Submitter;")
                    .as("the submitter is the signing domain").contains("\r\nTLS-Report-Submitter: reports.sender.test\r\n")
                    .contains("Submitter: reports.sender.test Report-ID:")
                    .containsPattern("filename=\"reports\\.sender\\.test!example\\.org!")
                    .contains("\r\nFrom: noreply-tlsrpt@reports.sender.test\r\n");

            Verdict good = verify(signed, publicKey);
            assertThat(good.output()).contains("asked tlsrpt._domainkey.reports.sender.test");
            assertThat(good.exit()).as(good.output()).isZero();

            // One changed character of the report attachment: the body hash no longer matches.
            int at = text.indexOf("Content-Transfer-Encoding: base64\r\n\r\n") + 40;
            byte[] changed = signed.clone();
            changed[at] = (byte) (changed[at] == 'A' ? 'B' : 'A');
            Verdict bad = verify(changed, publicKey);
            assertThat(bad.output()).as("dkimpy ran and said no").contains("\ninvalid");
            assertThat(bad.exit()).as(bad.output()).isEqualTo(1);

            // A signed field changed: fails too.
            byte[] otherDomain = text.replace("TLS-Report-Domain: example.org", "TLS-Report-Domain: example.net")
                    .getBytes(StandardCharsets.US_ASCII);
            assertThat(verify(otherDomain, publicKey).output()).contains("\ninvalid");

            // Another key under the selector: fails.
            String otherKey = Base64.getEncoder().encodeToString(gen.generateKeyPair().getPublic().getEncoded());
            assertThat(verify(signed, otherKey).output()).contains("\ninvalid");
        }
    }

    @Test
    void withoutAKeyReportMailStaysUnsignedAsBefore() throws Exception {
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = new TlsReportSender(TlsReportSender.Settings.of("mx.sender.test"), counts,
                     d -> Optional.empty(), spool, to -> Optional.empty(), (uri, body) -> { }, clock)) {
            counts.record("example.org", "mx.example.org", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            TlsReportCounts.DomainDayCounts day = counts.ended(LocalDate.now(ZoneOffset.UTC), true).get(0);
            String text = new String(sender.message(new TlsReport("mx.sender.test", "noreply-tlsrpt@mx.sender.test", day,
                    clock.instant(), "abcd1234"), "tls-reports@example.org"), StandardCharsets.US_ASCII);
            assertThat(text).startsWith("From: ").doesNotContain("DKIM-Signature")
                    .contains("\r\nTLS-Report-Submitter: mx.sender.test\r\n");
        }
    }
}
