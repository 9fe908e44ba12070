package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.node.ReceivingMx;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * mxd as a backup MX (issue 4 point 4): with the primary down it accepts and holds mail for
 * the domain, hands it to the primary when the primary is back, and never sends it to itself
 * or to an MX no better than itself; where it is the best MX, the mail "loops back to myself".
 */
@PeerTest
class BackupMxPeerTest {

    static final String PRIMARY = "127.0.0.61";
    static final String BACKUP = "127.0.0.62";
    static final String WORSE = "127.0.0.63";

    Path dir;
    int port;
    MxdDnsServer dns;
    ReceivingMx backup;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mxd-backup");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // smtp-sink dumps as nobody
        port = FreePort.tcpOn(PRIMARY, BACKUP, WORSE);
        Path zone = Files.writeString(dir.resolve("bk.test.zone"), String.join("\n",
                "$ORIGIN bk.test.", "$TTL 300",
                "@ IN SOA ns.bk.test. hostmaster.bk.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53",
                "@ MX 10 prim", "@ MX 20 back", "@ MX 30 worse",
                "best MX 10 back", "best MX 20 prim",
                "prim IN A " + PRIMARY, "back IN A " + BACKUP, "worse IN A " + WORSE, "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        String yaml = "hostname: back.bk.test\n"
                + "listen:\n  smtp: [\"" + BACKUP + ":" + port + "\"]\n"
                + "data-dir: " + dir.resolve("data") + "\n"
                + "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "trusted-networks: []\n"
                + "domains:\n  bk.test: {role: backup}\n  best.bk.test: {role: backup}\n"
                + "  back.local: {role: local, mailboxes: [alice], aliases: {postmaster: alice}}\n"
                + "timeouts: {greet-pause: 0s}\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 1s\n  greeting-timeout: 1s\n  command-timeout: 2s\n"
                + "  retry: {first: 1s, max: 1s, give-up: 1h}\n  host-retry: {first: 1s, max: 1s}\n  scan-interval: 200ms\n";
        backup = ReceivingMx.start(ConfigLoader.parse(yaml, dir.resolve("backup.yaml")));
    }

    @AfterEach
    void stop() {
        backup.close();
        dns.close();
        TestDirs.deleteTree(dir);
    }

    @Test
    void holdsMailWhilePrimaryIsDownThenHandsItToThePrimary() throws Exception {
        String marker;
        // The worse MX listens all along: a backup must never hand mail to an MX no better than itself.
        try (SmtpSink worse = SmtpSink.start(WORSE, port, "-d", dir.resolve("worse") + "/%M.")) {
            marker = MxDeliveryPeerTest.submit(backup.smtpAddresses().get(0), "someone@elsewhere.test", "user@bk.test");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backup.spool().ids(QueueState.DEFERRED).size() == 1
                    && backup.queue().idle());
            Thread.sleep(1500); // at least one retry while the primary is still down
            assertThat(backup.spool().ids(QueueState.DEFERRED)).hasSize(1);
            String id = backup.spool().ids(QueueState.DEFERRED).get(0);
            assertThat(backup.spool().envelope(QueueState.DEFERRED, id).recipients().get(0).detail())
                    .contains(PRIMARY).doesNotContain(WORSE).doesNotContain(BACKUP);
            assertThat(Files.exists(dir.resolve("worse"))).as("nothing went to the worse MX").isFalse();
        }
        try (SmtpSink primary = SmtpSink.start(PRIMARY, port, "-d", dir.resolve("primary") + "/%M.")) {
            List<SinkDump> got = SinkDump.await(dir.resolve("primary"), 1);
            assertThat(got).hasSize(1);
            String text = new String(got.get(0).message(), StandardCharsets.UTF_8);
            assertThat(text).contains(marker);
            Matcher m = Pattern.compile("by back\\.bk\\.test \\(mxd\\)").matcher(text);
            int hops = 0;
            while (m.find()) {
                hops++;
            }
            assertThat(hops).as("received by the backup exactly once: never looped").isEqualTo(1);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backup.spool().ids(QueueState.DEFERRED).isEmpty()
                    && backup.queue().idle());
        }
    }

    @Test
    void whereTheBackupIsTheBestMxMailLoopsBackToMyself() throws Exception {
        MxDeliveryPeerTest.submit(backup.smtpAddresses().get(0), "alice@back.local", "user@best.bk.test");
        Path box = backup.maildir("back.local", "alice").resolve("new");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(box) && Files.list(box).count() == 1);
        String dsn = Files.readString(Files.list(box).findFirst().orElseThrow(), StandardCharsets.UTF_8);
        assertThat(dsn).contains("Final-Recipient: rfc822; user@best.bk.test", "Status: 5.4.6", "loops back to myself");
    }

    @Test
    void untrustedClientsCannotRelayThroughTheBackup() throws Exception {
        try (var c = new dev.mxd.testing.RawSmtp(backup.smtpAddresses().get(0))) {
            c.reply();
            c.send("EHLO client.test\r\n");
            c.reply();
            c.send("MAIL FROM:<someone@elsewhere.test>\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("RCPT TO:<victim@other.test>\r\n");
            assertThat(c.reply()).startsWith("554 5.7.1");
        }
    }
}
