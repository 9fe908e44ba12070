package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

/**
 * Without dns.servers mxd asks the servers of /etc/resolv.conf. That file changes under a running
 * MX (a DHCP lease, a VPN, NetworkManager): the servers read at start were asked for ever, and once
 * the old one was gone every MX lookup timed out until a restart. The file is now looked at again
 * (at most every 5 s) and its new servers asked. Here the file is a temporary one and the servers
 * two mxd DNS servers on loopback; time is moved on by the clock the client is given.
 */
class ResolverFileTest {

    @Test
    void aChangedResolverFileIsFollowed(@TempDir Path dir) throws Exception {
        Path zone = TestDirs.zone(dir, "example.test", "@ MX 10 mx", "mx IN A 192.0.2.25");
        Path file = Files.writeString(dir.resolve("resolv.conf"), "nameserver first\n");
        AtomicReference<List<InetSocketAddress>> named = new AtomicReference<>();
        AtomicLong skew = new AtomicLong();
        try (MxdDnsServer second = MxdDnsServer.start(Map.of("example.test", zone))) {
            MxdDnsServer first = MxdDnsServer.start(Map.of("example.test", zone));
            named.set(List.of(first.address()));
            DnsSettings settings = DnsSettings.of(List.of(first.address())).withDnssec(dev.mxd.config.DnssecMode.OFF, List.of());
            DnsClient client = new DnsClient(new DnsSettings(settings.servers(), java.time.Duration.ofMillis(300), 1,
                    java.time.Duration.ofSeconds(2), settings.maxCnameChain(), 0, settings.maxTtl()),
                    () -> System.nanoTime() + skew.get(), java.util.Optional.of(new DnsClient.ServerSource(file, named::get)));
            assertThat(client.query(Name.fromString("example.test."), Type.MX)).isInstanceOf(DnsAnswer.Found.class);

            first.close(); // the old server goes; the file names the new one
            named.set(List.of(second.address()));
            Files.writeString(file, "nameserver second\nnameserver and-more\n");
            assertThat(client.query(Name.fromString("example.test."), Type.MX)).as("within 5 s of the last look")
                    .isInstanceOf(DnsAnswer.Failed.class);
            skew.addAndGet(DnsClient.SOURCE_CHECK_NANOS);
            assertThat(client.query(Name.fromString("example.test."), Type.MX)).isInstanceOf(DnsAnswer.Found.class);
            assertThat(client.servers()).containsExactly(second.address());
        }
    }

    /**
     * The first of two servers is dead (it takes the question and never answers, as a firewall that
     * drops does): every question cost its timeout first, and with two such servers an exchange's
     * budget was gone before the working third was asked. A server that let a question time out is
     * now asked after the others for a minute: the next questions go to the working one first.
     */
    @Test
    void aServerThatTimedOutIsAskedLast(@TempDir Path dir) throws Exception {
        Path zone = TestDirs.zone(dir, "example.test", "@ MX 10 mx", "mx IN A 192.0.2.25", "other MX 10 mx");
        try (MxdDnsServer working = MxdDnsServer.start(Map.of("example.test", zone));
             java.net.DatagramSocket dead = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            AtomicLong received = new AtomicLong();
            Thread sink = new Thread(() -> {
                byte[] b = new byte[1500];
                while (!dead.isClosed()) {
                    try {
                        dead.receive(new java.net.DatagramPacket(b, b.length));
                        received.incrementAndGet();
                    } catch (java.io.IOException closed) {
                        return;
                    }
                }
            });
            sink.setDaemon(true);
            sink.start();
            InetSocketAddress silent = new InetSocketAddress("127.0.0.1", dead.getLocalPort());
            DnsClient client = new DnsClient(new DnsSettings(List.of(silent, working.address()), java.time.Duration.ofMillis(300), 1,
                    java.time.Duration.ofSeconds(5), 8, 0, java.time.Duration.ofDays(1)));
            assertThat(client.query(Name.fromString("example.test."), Type.MX)).isInstanceOf(DnsAnswer.Found.class);
            long asked = received.get();
            assertThat(asked).as("the dead server was asked first, once").isEqualTo(1);
            assertThat(client.query(Name.fromString("other.example.test."), Type.MX)).isInstanceOf(DnsAnswer.Found.class);
            assertThat(client.query(Name.fromString("mx.example.test."), Type.A)).isInstanceOf(DnsAnswer.Found.class);
            assertThat(received.get()).as("not asked again while it stays silent").isEqualTo(asked);
        }
    }
}
