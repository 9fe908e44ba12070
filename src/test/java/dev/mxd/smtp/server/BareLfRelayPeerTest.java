package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 16 point 9, end to end: with {@code limits.bare-lf: normalize} a smuggling attempt that
 * hides a second transaction behind {@code <LF>.<CR><LF>} is relayed by mxd as one message to a
 * real Postfix, which passes it on to an smtp-sink: the sink gets exactly one message, for the
 * one recipient, with the would-be commands as text and CRLF line ends throughout.
 */
@PeerTest
class BareLfRelayPeerTest {

    private static final String POSTFIX = "127.0.0.161";
    private static final String SINK = "127.0.0.162";

    private Path dir;
    private MxdDnsServer dns;
    private SmtpSink sink;
    private PostfixServer postfix;
    private TestMx mx;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mxd-barelf");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // smtp-sink dumps as nobody
        int port = FreePort.tcpOn(POSTFIX, SINK);
        Path zone = Files.writeString(dir.resolve("relay.test.zone"), String.join("\n", "$ORIGIN relay.test.", "$TTL 300",
                "@ IN SOA ns.relay.test. hostmaster.relay.test. ( 1 3600 600 86400 60 )", "@ IN NS ns", "ns IN A 127.0.0.53",
                "far MX 10 mx-far", "mx-far IN A " + POSTFIX, "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        sink = SmtpSink.start(SINK, port, "-d", dir.resolve("dumps") + "/%M.");
        postfix = PostfixServer.start(POSTFIX + ":" + port, "far.relay.test", "[" + SINK + "]:" + port);
        mx = TestMx.start("limits:\n  bare-lf: normalize\n"
                + "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  retry: {first: 10m, max: 10m, give-up: 1h}\n  scan-interval: 200ms\n");
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {mx, postfix, sink, dns}) {
            if (c != null) {
                c.close();
            }
        }
        TestDirs.deleteTree(dir);
    }

    @Test
    void aSmuggledTransactionBehindABareLfStaysTextAllTheWayToTheNextHops() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\nMAIL FROM:<eve@client.test>\r\nRCPT TO:<x@far.relay.test>\r\nDATA\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: " + marker + "\nX-Lines: LF only\n\nfirst\n.\r\nMAIL FROM:<admin@far.relay.test>\r\n"
                    + "RCPT TO:<victim@far.relay.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nspoofed\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
            c.send("QUIT\r\n");
            assertThat(c.code()).isEqualTo(221);
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> SinkDump.countWith(dir.resolve("dumps"), marker) == 1);
        Thread.sleep(1000); // a second message, had one been smuggled, would be on its way by now
        List<SinkDump> dumps = SinkDump.await(dir.resolve("dumps"), 1);
        assertThat(dumps).hasSize(1);
        assertThat(dumps.get(0).record("X-Rcpt-Args")).singleElement().asString().contains("x@far.relay.test");
        // smtp-sink writes its dump with LF line ends; the CRLF mxd stores is checked in SmugglingTest.
        String arrived = new String(dumps.get(0).message(), StandardCharsets.UTF_8).replace("\r\n", "\n");
        assertThat(arrived).contains("Subject: " + marker + "\nX-Lines: LF only\n")
                .contains("\nfirst\n.\nMAIL FROM:<admin@far.relay.test>\nRCPT TO:<victim@far.relay.test>\nDATA\n")
                .contains("\nspoofed\n");
    }
}
