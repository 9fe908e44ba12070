package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The durability contract with a real crash: mxd runs as its own JVM, three clients send as
 * fast as they can, the process gets SIGKILL right after the 40th 250 reply, and after a
 * restart every acknowledged message must reach its Maildir. Alice's mailbox is blocked
 * (a file where its directory should be) until the restart, so her messages are certainly
 * still in the spool when the process dies.
 */
@PeerTest
class KillNineTest {

    private static final Pattern SUBJECT = Pattern.compile("\nSubject: (kill9-\\d+-\\d+)\n");

    @Test
    void everyAcknowledgedMessageIsDeliveredAfterKillNine() throws Exception {
        Path dir = Files.createTempDirectory("mxd-kill9");
        try {
            int port = FreePort.tcpAndUdp("127.0.0.1");
            Path data = dir.resolve("data");
            Path config = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(data, port,
                    "timeouts:\n  greet-pause: 0s\ndelivery:\n  retry: {first: 1s, max: 1s, give-up: 1h}\n  scan-interval: 200ms\n"));
            Path aliceBlock = data.resolve("mail/example.test/alice");
            Files.createDirectories(aliceBlock.getParent());
            Files.writeString(aliceBlock, "blocks delivery to alice until the restart");

            ConcurrentLinkedQueue<String> acked = new ConcurrentLinkedQueue<>();
            InetSocketAddress server = new InetSocketAddress("127.0.0.1", port);
            MxdProcess first = MxdProcess.serve(config, dir.resolve("first.log"));
            List<Thread> senders = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int sender = t;
                Thread th = new Thread(() -> send(server, sender, acked), "sender-" + t);
                th.start();
                senders.add(th);
            }
            Await.within(Duration.ofSeconds(60), Duration.ofMillis(1), () -> acked.size() >= 40);
            first.kill9();
            for (Thread th : senders) {
                th.join(30_000);
            }
            Set<String> acknowledged = new HashSet<>(acked);
            assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(40);
            long spooled;
            spooled = 0;
            for (String queue : List.of("incoming", "active", "deferred")) {
                try (Stream<Path> s = Files.list(data.resolve("spool").resolve(queue))) {
                    spooled += s.count();
                }
            }

            Files.delete(aliceBlock);
            try (MxdProcess second = MxdProcess.serve(config, dir.resolve("second.log"))) {
                Await.within(Duration.ofSeconds(60), Duration.ofMillis(100), () -> delivered(data).containsAll(acknowledged));
                Set<String> delivered = delivered(data);
                assertThat(delivered).as("%d acknowledged, %d in the spool at the kill; log after restart:%n%s", acknowledged.size(), spooled,
                                Files.readString(dir.resolve("second.log")))
                        .containsAll(acknowledged);
                assertThat(spooled).as("messages still in the spool when killed").isPositive();
                System.out.printf("kill -9: %d acknowledged, %d still spooled at the kill, %d delivered after restart%n",
                        acknowledged.size(), spooled, delivered.size());
            }
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    /** Sends messages on one connection, alternately to alice and bob, until the server dies (at most 2,000). */
    private static void send(InetSocketAddress server, int sender, ConcurrentLinkedQueue<String> acked) {
        try (RawSmtp c = new RawSmtp(server)) {
            c.reply();
            c.send("EHLO sender" + sender + ".test\r\n");
            c.reply();
            for (int i = 0; i < 2000; i++) {
                String subject = "kill9-" + sender + "-" + i;
                String to = i % 2 == 0 ? "alice" : "bob";
                c.send("MAIL FROM:<s@sender.test>\r\nRCPT TO:<" + to + "@example.test>\r\nDATA\r\n");
                if (c.code() != 250 || c.code() != 250 || c.code() != 354) {
                    return;
                }
                c.send("Subject: " + subject + "\r\n\r\nbody of " + subject + "\r\n.\r\n");
                if (c.reply().startsWith("250 ")) {
                    acked.add(subject);
                } else {
                    return;
                }
            }
        } catch (IOException | RuntimeException killed) {
            // the server was killed mid-conversation: whatever was not acknowledged does not count
        }
    }

    private static Set<String> delivered(Path data) throws IOException {
        Set<String> subjects = new HashSet<>();
        for (String box : List.of("alice", "bob")) {
            Path dir = data.resolve("mail/example.test/" + box + "/Maildir/new");
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Matcher m = SUBJECT.matcher(Files.readString(f, StandardCharsets.UTF_8));
                    if (m.find()) {
                        subjects.add(m.group(1));
                    }
                }
            }
        }
        return subjects;
    }
}
