package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Disk full (issue 6 point 2): mxd's data directory is a tmpfs of 8 MB that the test mounts (as
 * root) and nearly fills with a filler file. Messages of 10 KB (held in memory until the end)
 * and 200 KB (spilled to disk while they arrive) are sent until the disk is full: mxd must answer
 * 452 4.3.1, never 250 for what it could not store, keep serving the same and new connections,
 * and deliver every message it acknowledged, whole, once the tmpfs is remounted at 64 MB.
 */
@PeerTest
class DiskFullTest {

    private static final Pattern MARKER = Pattern.compile("\nSubject: (full-\\d+)\n");

    @Test
    void fullDiskAnswers452AcknowledgesNothingUnstoredAndDeliversEverythingOnceSpaceIsBack() throws Exception {
        onTmpfs("8m", (dir, data) -> {
            try (TestMx mx = TestMx.startIn(dir, "delivery:\n  retry: {first: 1s, max: 1s, give-up: 1h}\n  scan-interval: 200ms\n")) {
                // Leave about 1.5 MB free: the queue and Maildirs fill the rest within a few messages.
                FileStore store = Files.getFileStore(data);
                long fill = store.getUsableSpace() - 1_500_000;
                try (RandomAccessFile filler = new RandomAccessFile(data.resolve("filler").toFile(), "rw")) {
                    byte[] block = new byte[1 << 20];
                    for (long written = 0; written < fill; written += block.length) {
                        filler.write(block, 0, (int) Math.min(block.length, fill - written));
                    }
                }

                Set<String> acked = new HashSet<>();
                List<String> replies = new ArrayList<>();
                int refused = 0;
                try (RawSmtp c = new RawSmtp(mx.smtp())) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO client.test\r\n");
                    assertThat(c.code()).isEqualTo(250);
                    for (int i = 0; i < 60 && refused < 6; i++) {
                        String subject = "full-" + i;
                        String reply = sendOne(c, subject, i % 2 == 0 ? 200_000 : 10_000);
                        replies.add(subject + " " + reply.lines().reduce((a, b) -> b).orElse(""));
                        if (reply.startsWith("250 ")) {
                            acked.add(subject);
                        } else {
                            assertThat(reply).as("the reply to %s on a full disk", subject).startsWith("452 4.3.1");
                            refused++;
                        }
                    }
                    assertThat(refused).as("replies: %s", replies).isEqualTo(6);
                    // Same connection still served after 452s.
                    c.send("NOOP\r\n");
                    assertThat(c.code()).isEqualTo(250);
                }
                // New connections are served too.
                try (RawSmtp c = new RawSmtp(mx.smtp())) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO client.test\r\nQUIT\r\n");
                    assertThat(c.code()).isEqualTo(250);
                    assertThat(c.code()).isEqualTo(221);
                }
                System.out.printf("disk full: %d acknowledged before the disk filled, %d answered 452 4.3.1: %s%n",
                        acked.size(), refused, replies);

                assertThat(run("mount", "-o", "remount,size=64m", data.toString())).isZero();
                try (RawSmtp c = new RawSmtp(mx.smtp())) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO client.test\r\n");
                    assertThat(c.code()).isEqualTo(250);
                    for (int i = 100; i < 104; i++) {
                        assertThat(sendOne(c, "full-" + i, 200_000)).startsWith("250 ");
                        acked.add("full-" + i);
                    }
                }
                Await.within(Duration.ofSeconds(60), Duration.ofMillis(100), () -> delivered(mx).containsAll(acked)
                        && mx.mx().spool().ids(QueueState.INCOMING).isEmpty() && mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
                Set<String> delivered = delivered(mx);
                assertThat(delivered).as("every acknowledged message, whole, in a Maildir").containsAll(acked);
                assertThat(delivered).as("nothing that was refused").hasSameSizeAs(acked);
                assertThat(dev.mxd.testing.SpoolFiles.strays(data.resolve("spool"))).as("no half-written file left in the spool").isEmpty();
                System.out.printf("disk full: after remounting at 64 MB, all %d acknowledged messages delivered%n", acked.size());
            }
        });
    }

    /** The body of a test, given a scratch directory whose {@code data} is a tmpfs of its own. */
    private interface OnTmpfs {
        void run(Path dir, Path data) throws Exception;
    }

    /** Runs {@code test} with a tmpfs of {@code size} mounted at {@code DIR/data} (as root), unmounted and removed after. */
    private static void onTmpfs(String size, OnTmpfs test) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root to mount a tmpfs for the data directory (run the peer tests as root, as CI does)");
        Path dir = Files.createTempDirectory("mxd-diskfull");
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        boolean mounted = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", data.toString()) == 0;
        try {
            assumeTrue(mounted, "mount -t tmpfs -o size=" + size + " tmpfs " + data + " failed: this machine lets no tmpfs be mounted");
            test.run(dir, data);
        } finally {
            if (mounted) {
                run("umount", data.toString());
            }
            TestDirs.deleteTree(dir);
        }
    }

    /**
     * The spool's disk fills while relayed mail waits for a next hop that defers some of its recipients (a backup MX whose
     * primary is down): the outcomes of the next attempts cannot be written. Once the next hop takes them, the mail goes,
     * which is what makes room, with the disk still full, and a recipient taken while the disk was full is not sent again
     * at the attempts after (its state is kept in memory). It never went: each attempt first had to write the last one's
     * outcomes, and failed on the full disk before connecting, for ever (its queue lifetime never ended either).
     */
    @Test
    void aFullDiskDoesNotKeepQueuedMailFromTheNextHopThatWouldMakeRoom() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean carolBack = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean daveBack = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger carolTaken = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger bobTaken = new java.util.concurrent.atomic.AtomicInteger();
        onTmpfs("4m", (dir, data) -> {
            try (dev.mxd.testing.FakeSmtpServer next = nextHop(bobTaken, carolBack, carolTaken, daveBack);
                 TestMx mx = TestMx.startIn(dir, "delivery:\n  routes:\n    far.test: \"[127.0.0.1]:" + next.address().getPort() + "\"\n"
                         + "  retry: {first: 1s, max: 1s, give-up: 1h}\n  host-retry: {first: 1s, max: 1s}\n  scan-interval: 200ms\n")) {
                sendToBobCarolDave(mx, 5);
                assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100),
                        () -> mx.mx().spool().ids(QueueState.DEFERRED).size() == 5 && bobTaken.get() == 5))
                        .as("bob taken, carol and dave deferred").isTrue();
                fillToTheLastBlock(data);
                int before = next.commands("RCPT").size();
                assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100), () -> next.commands("RCPT").size() >= before + 10))
                        .as("tried again on the full disk").isTrue();
                carolBack.set(true); // taken now: the state cannot be written, it is kept in memory
                assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100), () -> carolTaken.get() >= 5)).isTrue();
                Thread.sleep(3000); // three more rounds for dave, the disk still full
                assertThat(carolTaken.get()).as("carol taken once a message, not again at the attempts after").isEqualTo(5);
                daveBack.set(true);
                List<String> ids = mx.mx().spool().ids(QueueState.DEFERRED);
                boolean gone = Await.within(Duration.ofSeconds(60), Duration.ofMillis(100),
                        () -> mx.mx().spool().ids(QueueState.DEFERRED).isEmpty() && mx.mx().spool().ids(QueueState.ACTIVE).isEmpty());
                assertThat(gone).as("delivered and removed, the disk still full; still queued: %s", ids).isTrue();
                assertThat(carolTaken.get()).isEqualTo(5);
                assertThat(bobTaken.get()).as("bob once a message").isEqualTo(5);
            }
        });
    }

    /**
     * As above, and then the node is stopped cleanly with the states of carol's deliveries still kept only in memory
     * (the messages on hold, so that no attempt writes them first) and the disk's room back: the stop writes them, and
     * after the restart carol is not sent the messages again. Before, the stop dropped them and the envelopes on disk,
     * from before carol was taken, sent every message to carol a second time.
     */
    @Test
    void statesKeptInMemoryAreWrittenAtACleanStop() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean carolBack = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean daveBack = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger carolTaken = new java.util.concurrent.atomic.AtomicInteger();
        onTmpfs("4m", (dir, data) -> {
            try (dev.mxd.testing.FakeSmtpServer next = nextHop(new java.util.concurrent.atomic.AtomicInteger(), carolBack, carolTaken, daveBack)) {
                String config = "delivery:\n  routes:\n    far.test: \"[127.0.0.1]:" + next.address().getPort() + "\"\n"
                        + "  retry: {first: 1s, max: 1s, give-up: 1h}\n  host-retry: {first: 1s, max: 1s}\n  scan-interval: 200ms\n";
                List<String> ids;
                try (TestMx mx = TestMx.startIn(dir, config)) {
                    sendToBobCarolDave(mx, 3);
                    assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100),
                            () -> mx.mx().spool().ids(QueueState.DEFERRED).size() == 3)).as("carol and dave deferred").isTrue();
                    ids = mx.mx().spool().ids(QueueState.DEFERRED);
                    fillToTheLastBlock(data);
                    carolBack.set(true); // taken now: the states cannot be written, they are kept in memory
                    assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(100), () -> carolTaken.get() >= 3)).isTrue();
                    for (String id : ids) {
                        // refused while an attempt of it runs ("being delivered right now"): asked again until it ends
                        assertThat(Await.within(Duration.ofSeconds(30), Duration.ofMillis(50),
                                () -> mx.mx().queue().hold(id) instanceof dev.mxd.queue.QueueChange.Done)).as("%s on hold", id).isTrue();
                    }
                    Files.delete(data.resolve("filler")); // room again, and no attempt to use it before the stop
                }
                assertThat(ids).hasSize(3);
                daveBack.set(true);
                try (TestMx mx = TestMx.startIn(dir, config)) {
                    for (String id : ids) {
                        assertThat(mx.mx().queue().release(id)).isInstanceOf(dev.mxd.queue.QueueChange.Done.class);
                    }
                    boolean gone = Await.within(Duration.ofSeconds(30), Duration.ofMillis(100), () -> mx.mx().spool().ids(QueueState.DEFERRED)
                            .isEmpty() && mx.mx().spool().ids(QueueState.ACTIVE).isEmpty() && mx.mx().spool().ids(QueueState.HOLD).isEmpty());
                    assertThat(gone).as("delivered to dave and removed after the restart").isTrue();
                }
                assertThat(next.commands("RCPT").stream().filter(c -> c.startsWith("RCPT TO:<dave")).count()).as("dave tried before and after").isGreaterThan(3L);
                assertThat(carolTaken.get()).as("carol taken once a message, not again after the restart").isEqualTo(3);
            }
        });
    }

    /** The next hop of far.test: takes bob (counted), defers carol and dave until each is back (carol counted then). */
    private static dev.mxd.testing.FakeSmtpServer nextHop(java.util.concurrent.atomic.AtomicInteger bobTaken,
            java.util.concurrent.atomic.AtomicBoolean carolBack, java.util.concurrent.atomic.AtomicInteger carolTaken,
            java.util.concurrent.atomic.AtomicBoolean daveBack) throws IOException {
        return dev.mxd.testing.FakeSmtpServer.start("220 primary.test ESMTP", List.of("PIPELINING"), c -> {
            if (c.startsWith("RCPT TO:<bob")) {
                bobTaken.incrementAndGet();
            } else if (c.startsWith("RCPT TO:<carol")) {
                if (!carolBack.get()) {
                    return "451 4.2.0 carol later";
                }
                carolTaken.incrementAndGet();
            } else if (c.startsWith("RCPT TO:<dave") && !daveBack.get()) {
                return "451 4.2.0 dave later";
            }
            return null;
        });
    }

    /** {@code n} messages, each to bob, carol and dave at far.test, over one session. */
    private static void sendToBobCarolDave(TestMx mx, int n) throws IOException {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            for (int i = 0; i < n; i++) {
                c.send("MAIL FROM:<s@sender.test>\r\nRCPT TO:<bob@far.test>\r\nRCPT TO:<carol@far.test>\r\n"
                        + "RCPT TO:<dave@far.test>\r\nDATA\r\n");
                for (int k = 0; k < 4; k++) {
                    assertThat(c.reply()).startsWith("250"); // MAIL and the three RCPT
                }
                assertThat(c.reply()).startsWith("354");
                c.send("Subject: full-relay-" + i + "\r\n\r\nbody\r\n.\r\n");
                assertThat(c.reply()).startsWith("250 ");
            }
        }
    }

    /**
     * A kill under load on a disk that is full: the accept journal still holds the last messages, and start-up, which
     * writes each text again from its record, has no room for the copies. A text that holds exactly its record is then
     * fsynced where it is, and the spool opens with every message. It did not open at all (exit 75, restarted in a loop
     * by systemd), so the queue that would free the space never drained.
     */
    @Test
    void aSpoolWhoseJournalHoldsMessagesOpensOnAFullDisk() throws Exception {
        onTmpfs("8m", (dir, data) -> {
            dev.mxd.queue.Spool spool = dev.mxd.queue.Spool.open(data.resolve("spool"), "mx.test", java.time.Clock.systemUTC());
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                dev.mxd.mail.ReceivedMessage m = new dev.mxd.mail.ReceivedMessage(
                        java.util.Optional.of(dev.mxd.smtp.Mailbox.parse("a@b.test")), dev.mxd.smtp.MailParameters.NONE,
                        List.of(new dev.mxd.mail.Recipient(dev.mxd.smtp.Mailbox.parse("alice@example.test"),
                                dev.mxd.smtp.RcptParameters.NONE, new dev.mxd.mail.Route.Local("example.test", List.of("alice")))),
                        new dev.mxd.mail.ClientInfo(new java.net.InetSocketAddress("127.0.0.1", 40000), "client.test", true, false),
                        java.time.Instant.now(), ("Subject: " + i + "\r\n\r\n" + "x".repeat(20_000) + "\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                ids.add(((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(m)).queueId());
            }
            List<byte[]> texts = new ArrayList<>();
            for (String id : ids) {
                texts.add(Files.readAllBytes(spool.text(id)));
            }
            fillToTheLastBlock(data); // the process is killed now: no checkpoint, the journal keeps the three
            dev.mxd.queue.Spool again = dev.mxd.queue.Spool.open(data.resolve("spool"), "mx.test", java.time.Clock.systemUTC());
            try {
                assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrderElementsOf(ids);
                for (int i = 0; i < ids.size(); i++) {
                    assertThat(Files.readAllBytes(again.text(ids.get(i)))).as(ids.get(i)).isEqualTo(texts.get(i));
                }
                Files.delete(data.resolve("filler"));
            } finally {
                // Their journals' files stay open until closed, and an open file keeps the tmpfs from being unmounted.
                again.close();
                spool.close();
            }
        });
    }

    /** Fills the file system of {@code data} to the last block: no envelope can be written from now on. */
    private static void fillToTheLastBlock(Path data) throws IOException {
        try (RandomAccessFile filler = new RandomAccessFile(data.resolve("filler").toFile(), "rw")) {
            byte[] block = new byte[4096];
            try {
                while (true) {
                    filler.write(block);
                }
            } catch (IOException full) {
                // no space left
            }
        }
    }

    /** One transaction to alice with a body of about {@code size} octets; the reply after the text. */
    private static String sendOne(RawSmtp c, String subject, int size) throws IOException {
        c.send("MAIL FROM:<s@sender.test>\r\nRCPT TO:<" + (subject.hashCode() % 2 == 0 ? "alice" : "bob") + "@example.test>\r\nDATA\r\n");
        String mail = c.reply();
        String rcpt = c.reply();
        String data = c.reply();
        if (!data.startsWith("354")) {
            return mail + " / " + rcpt + " / " + data;
        }
        StringBuilder m = new StringBuilder(size + 200).append("Subject: ").append(subject).append("\r\n\r\n");
        String line = "x".repeat(76) + "\r\n";
        while (m.length() < size) {
            m.append(line);
        }
        m.append("end of ").append(subject).append("\r\n.\r\n");
        c.send(m.toString());
        return c.reply();
    }

    /** Subjects of the messages in alice's and bob's Maildirs whose text arrived whole. */
    private static Set<String> delivered(TestMx mx) throws IOException {
        Set<String> subjects = new HashSet<>();
        for (String box : List.of("alice", "bob")) {
            for (Path f : mx.delivered(box)) {
                String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                Matcher m = MARKER.matcher(text);
                if (m.find() && text.endsWith("end of " + m.group(1) + "\n")) {
                    subjects.add(m.group(1));
                }
            }
        }
        return subjects;
    }

    private static int run(String... command) throws IOException, InterruptedException {
        return dev.mxd.testing.Processes.run(command);
    }
}
