package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.Daemon;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.Processes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * {@code mxd dns} at SIGHUP, as a process: a zone file edited so that its SOA is for another zone (a typo in
 * an absolute SOA owner, a $ORIGIN changed by mistake) loads, but taking it would drop the zone being served
 * and answer its names REFUSED; the zone as it was goes on being served, and the error says why.
 */
class DnsReloadTest {

    @TempDir
    Path dir;

    @Test
    void aReloadedFileWhoseSoaIsForAnotherZoneKeepsTheZoneServed() throws Exception {
        Path zone = dir.resolve("reload.example.zone");
        Files.writeString(zone, "$TTL 60\nreload.example. SOA ns1.reload.example. admin.reload.example. 1 2 3 4 5\n"
                + "reload.example. NS ns1.reload.example.\nreload.example. MX 10 mail.reload.example.\n"
                + "ns1.reload.example. A 192.0.2.1\nmail.reload.example. A 192.0.2.2\n");
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path out = dir.resolve("dns.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Daemon dns = Daemon.start("mxd dns", List.of(java, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main",
                "dns", "--zone", zone.toString(), "--listen", "127.0.0.1:" + port, "--rate-limit", "0"), null, out);
        try {
            dns.awaitReady(Duration.ofSeconds(60), () -> Processes.log(out).contains("listening on"));
            assertThat(rcode(port, "reload.example.")).isEqualTo(0);

            Files.writeString(zone, Files.readString(zone).replace("reload.example.", "relaod.example.")); // a typo, everywhere
            assertThat(Processes.run("kill", "-HUP", Long.toString(dns.pid()))).isZero();
            assertThat(Await.within(Duration.ofSeconds(20), () -> Processes.log(out).contains("reload:")))
                    .as(Processes.log(out)).isTrue();
            assertThat(Processes.log(out)).contains("its SOA record is now for relaod.example., not reload.example.")
                    .contains("still serving the zone reload.example. loaded before");
            assertThat(rcode(port, "reload.example.")).as("the zone served before").isEqualTo(0);
            assertThat(rcode(port, "relaod.example.")).as("REFUSED: not a zone served").isEqualTo(5);

            // the typo mended: the next reload takes the file
            Files.writeString(zone, Files.readString(zone).replace("relaod.example.", "reload.example.")
                    + "backup.reload.example. A 192.0.2.3\n");
            assertThat(Processes.run("kill", "-HUP", Long.toString(dns.pid()))).isZero();
            assertThat(Await.within(Duration.ofSeconds(20), () -> Processes.log(out).contains("reload: zone reload.example.")))
                    .as(Processes.log(out)).isTrue();
            assertThat(rcode(port, "backup.reload.example.")).isEqualTo(0);
            dns.stop(Duration.ofSeconds(30));
            assertThat(dns.exitValue()).isZero();
        } finally {
            dns.stop(Duration.ofSeconds(5));
        }
    }

    private static int rcode(int port, String name) throws IOException {
        SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", port));
        resolver.setTimeout(Duration.ofSeconds(5));
        Message answer = resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)));
        return answer.getRcode();
    }
}
