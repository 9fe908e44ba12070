package dev.mxd.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.server.DnsServer;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.Zones;
import dev.mxd.testing.PeerTest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.Record;

/**
 * The zone {@code mxd demo --secure} signs in process, checked by a validator that is not dnsjava:
 * BIND's {@code delv}, with the zone's DNSKEY as its only trust anchor, asking the demo's
 * {@code mxd dns} server. Answers, TLSA records, NODATA, NXDOMAIN and an empty non-terminal must all
 * be "fully validated", so the signatures and the hand-made NSEC chain are what RFC 4034/4035 ask.
 */
@PeerTest
class DemoZoneSignerPeerTest {

    @TempDir
    Path dir;

    @Test
    void delvValidatesTheDemoZoneFromItsKey() throws Exception {
        List<Record> tlsa = List.of(
                DemoCluster.tlsaRecord(DemoCluster.Node.MX1, DemoCertificate.create("mx1.example.test", 1)),
                DemoCluster.tlsaRecord(DemoCluster.Node.MX2, DemoCertificate.create("mx2.example.test", 1)));
        DemoZoneSigner.Signed signed = DemoZoneSigner.sign(DemoCluster.origin(), DemoCluster.zoneText(), tlsa, Instant.now(), 1);
        Path zone = Files.writeString(dir.resolve("example.test.zone"), signed.text());
        DNSKEYRecord key = signed.key();
        Path anchor = Files.writeString(dir.resolve("anchor.conf"), "trust-anchors {\n  example.test. static-key "
                + key.getFlags() + " " + key.getProtocol() + " " + key.getAlgorithm() + " \""
                + Base64.getEncoder().encodeToString(key.getKey()) + "\";\n};\n");
        try (DnsServer dns = DnsServer.start(new Zones(List.of(ServedZone.load(zone))), new InetSocketAddress("127.0.0.1", 0),
                DnsServer.Limits.defaults())) {
            int port = dns.address().getPort();
            assertThat(delv(port, anchor, "example.test", "MX")).contains("; fully validated").contains("mx3.example.test.");
            assertThat(delv(port, anchor, "mx2.example.test", "A")).contains("; fully validated");
            assertThat(delv(port, anchor, "_25._tcp.mx1.example.test", "TLSA")).contains("; fully validated", "TLSA\t3 1 1 ");
            assertThat(delv(port, anchor, "mx1.example.test", "AAAA")).contains("; negative response, fully validated");
            assertThat(delv(port, anchor, "_25._tcp.mx3.example.test", "TLSA")).contains("; negative response, fully validated");
            assertThat(delv(port, anchor, "_tcp.mx1.example.test", "A")).contains("; negative response, fully validated");
            assertThat(delv(port, anchor, "zz.example.test", "MX")).contains("; negative response, fully validated");
        }
    }

    /** delv's answer (stdout and stderr) for one question, bounded to 30 s. */
    private String delv(int port, Path anchor, String name, String type) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "delv", ".txt");
        Process p = new ProcessBuilder("delv", "@127.0.0.1", "-p", String.valueOf(port), "-a", anchor.toString(),
                "+root=example.test", name, type).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new IOException("delv did not answer " + name + " " + type + " in 30 s");
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }
}
