package dev.mxd.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.cli.Main;
import dev.mxd.config.DnssecMode;
import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.server.DnsServer;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.Zones;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.Master;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.Type;

/**
 * {@code mxd demo --secure} (issue 17 point 8): the whole demo over a zone signed in process with
 * TLSA records for the MX hosts' certificates, every node validating and delivering with DANE on.
 * The run must lose nothing and print a TLS line per MX host; the zone it served (kept with
 * {@code --keep}) must validate as SECURE through mxd's own resolver from the anchor the nodes
 * used, and its TLSA records must pin the certificates the nodes presented. Like the plain demo
 * (DemoCommandTest) it needs no external daemon.
 */
class SecureDemoTest {

    private static final List<String> HOSTS = List.of("mx1.example.test", "mx2.example.test", "mx3.example.test");

    @Test
    void securedDemoDeliversEverythingOverASignedZoneThatValidatesAndPinsTheCertificates(@TempDir Path tmp) throws Exception {
        Path keep = tmp.resolve("demo");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute("demo", "--secure", "--messages", "20", "--keep", keep.toString());
        String text = out.toString();
        assertThat(exit).as("exit status; output:%n%s%nerrors:%n%s", text, err).isZero();
        assertThat(text).contains("result: OK", "signed in process: ECDSA P-256 key tag");
        assertThat(tally(text, "delivered to mx1's Maildir")).isEqualTo(20);
        assertThat(tally(text, "lost")).isZero();
        assertThat(tally(text, "still queued")).isZero();
        for (String host : HOSTS) {
            // Each MX host received sessions (mx1 from the sender and the backups; mx2, mx3 while mx1 was down), over TLS.
            assertThat(text).as("a TLS line for %s in:%n%s", host, text)
                    .containsPattern("(?m)^\\[ *[0-9.]+s\\]   " + Pattern.quote(host) + ": .*\\(TLS 1\\.[23]\\)");
            assertThat(text).as("DANE authenticated %s in:%n%s", host, text)
                    .containsPattern("(?m)^\\[ *[0-9.]+s\\]   " + Pattern.quote(host) + ": DANE-EE authenticated \\(TLS 1\\.3\\)");
            assertThat(text).doesNotContainPattern("(?m)^\\[ *[0-9.]+s\\]   " + Pattern.quote(host) + ": (TLS FAILED|not used|no )");
        }

        // The nodes validated from this anchor and used these certificates.
        Path anchor = keep.resolve("example.test.anchor");
        for (String node : List.of("sender", "mx1", "mx2", "mx3")) {
            assertThat(keep.resolve(node + ".yaml")).content().contains("dnssec: validate", anchor.toAbsolutePath().toString(),
                    "dane: on");
        }
        for (String mx : List.of("mx1", "mx2", "mx3")) {
            assertThat(keep.resolve(mx + ".yaml")).content().contains("certificate: " + keep.resolve(mx + ".crt").toAbsolutePath());
        }

        // Serve the zone the demo served, and ask it through mxd's validating resolver.
        try (DnsServer dns = DnsServer.start(new Zones(List.of(ServedZone.load(keep.resolve("example.test.zone")))),
                new java.net.InetSocketAddress("127.0.0.1", 0), DnsServer.Limits.defaults())) {
            DnsSettings plain = DnsSettings.of(List.of(dns.address()));
            DnsClient validating = new DnsClient(plain.withDnssec(DnssecMode.VALIDATE, records(anchor)));
            DnsAnswer mx = validating.query(Name.fromString("example.test."), Type.MX);
            assertThat(mx).isInstanceOfSatisfying(DnsAnswer.Found.class, f -> {
                assertThat(f.dnssec()).isEqualTo(DnssecStatus.SECURE);
                assertThat(f.records()).extracting(r -> ((MXRecord) r).getTarget().toString(true))
                        .containsExactlyInAnyOrderElementsOf(HOSTS);
            });
            for (String host : HOSTS) {
                DnsAnswer a = validating.query(Name.fromString(host + "."), Type.A);
                assertThat(a).isInstanceOfSatisfying(DnsAnswer.Found.class, f -> assertThat(f.dnssec()).isEqualTo(DnssecStatus.SECURE));
                // The addresses delivery asks for and the zone lacks: denied by the NSEC chain, so secure too.
                DnsAnswer aaaa = validating.query(Name.fromString(host + "."), Type.AAAA);
                assertThat(aaaa).isInstanceOfSatisfying(DnsAnswer.NoData.class, n -> assertThat(n.dnssec()).isEqualTo(DnssecStatus.SECURE));
                DnsAnswer tlsa = validating.query(Name.fromString("_25._tcp." + host + "."), Type.TLSA);
                String label = host.substring(0, 3);
                byte[] spkiHash = MessageDigest.getInstance("SHA-256").digest(certificate(keep.resolve(label + ".crt")).getPublicKey().getEncoded());
                assertThat(tlsa).as("TLSA of %s", host).isInstanceOfSatisfying(DnsAnswer.Found.class, f -> {
                    assertThat(f.dnssec()).isEqualTo(DnssecStatus.SECURE);
                    assertThat(f.records()).hasSize(1);
                    TLSARecord t = (TLSARecord) f.records().get(0);
                    assertThat(List.of(t.getCertificateUsage(), t.getSelector(), t.getMatchingType())).containsExactly(3, 1, 1);
                    assertThat(t.getCertificateAssociationData()).isEqualTo(spkiHash);
                });
                X509Certificate cert = certificate(keep.resolve(label + ".crt"));
                assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=" + host);
                cert.checkValidity();
            }

            DnsAnswer none = validating.query(Name.fromString("_25._tcp.mx9.example.test."), Type.TLSA);
            assertThat(none).isInstanceOfSatisfying(DnsAnswer.NoSuchName.class, n -> assertThat(n.dnssec()).isEqualTo(DnssecStatus.SECURE));

            // Without validation the same answer is insecure; from a key that did not sign the zone it is bogus,
            // so the SECURE above comes from the zone's signatures and the anchor, not from the server.
            assertThat(new DnsClient(plain).query(Name.fromString("example.test."), Type.MX).dnssec()).isEqualTo(DnssecStatus.INSECURE);
            DNSKEYRecord other = (DNSKEYRecord) DemoZoneSigner.sign(DemoCluster.origin(), DemoCluster.zoneText(), List.of(),
                    Instant.now(), 1).key();
            DnsClient wrongAnchor = new DnsClient(plain.withDnssec(DnssecMode.VALIDATE, List.of(other)));
            assertThat(wrongAnchor.query(Name.fromString("example.test."), Type.MX).dnssec()).isEqualTo(DnssecStatus.BOGUS);
        }
    }

    private static long tally(String out, String row) {
        Matcher m = Pattern.compile("(?m)^  " + Pattern.quote(row) + " +(\\d+)").matcher(out);
        assertThat(m.find()).as("tally row '%s' in:%n%s", row, out).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static List<Record> records(Path file) throws Exception {
        List<Record> out = new ArrayList<>();
        try (Master m = new Master(file.toString())) {
            for (Record r = m.nextRecord(); r != null; r = m.nextRecord()) {
                out.add(r);
            }
        }
        return out;
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(pem)));
    }
}
