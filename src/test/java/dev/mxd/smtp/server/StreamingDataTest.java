package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.testing.Await;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 3, bounded memory: message text streams into {@code spool/data/} while it arrives (past
 * {@link Spool#MEMORY_LIMIT}), arrives byte for byte, and a refused or abandoned message
 * leaves nothing behind. The heap test holds several large messages in flight at once and
 * measures the retained heap after a full GC, which does not depend on timing.
 */
class StreamingDataTest {

    private TestMx mx;

    @AfterEach
    void stop() {
        if (mx != null) {
            mx.close();
        }
    }

    /**
     * A message body of about {@code octets}: numbered lines, every 7th starting with a dot
     * (sent stuffed), some 8-bit text. {@link #wire} is what goes on the wire, {@link #text}
     * what the spool must hold after unstuffing.
     */
    private static final class Body {
        final ByteArrayOutputStream wire = new ByteArrayOutputStream();
        final ByteArrayOutputStream text = new ByteArrayOutputStream();

        Body(int tag, int octets) {
            add("Subject: large " + tag + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
            for (int i = 0; text.size() < octets; i++) {
                String line = (i % 7 == 0 ? "." : "") + "line " + i + " of message " + tag + ": Grüße, café " + "x".repeat(i % 50) + "\r\n";
                byte[] b = line.getBytes(StandardCharsets.UTF_8);
                text.writeBytes(b);
                if (b[0] == '.') {
                    wire.write('.');
                }
                wire.writeBytes(b);
            }
        }

        private void add(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            wire.writeBytes(b);
            text.writeBytes(b);
        }
    }

    private RawSmtp upToData(String rcpt) throws Exception {
        RawSmtp c = new RawSmtp(mx.smtp());
        assertThat(c.code()).isEqualTo(220);
        c.send("EHLO client.test\r\nMAIL FROM:<sender@client.test> BODY=8BITMIME\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n");
        assertThat(c.reply()).startsWith("250-");
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(354);
        return c;
    }

    private Path spoolDir(String name) {
        return mx.mx().spool().root().resolve(name);
    }

    private List<Path> files(String name) throws IOException {
        try (Stream<Path> s = Files.list(spoolDir(name))) {
            return s.toList();
        }
    }

    /** Octets of text in spool/data now (no message is accepted while these tests look: only text arriving). */
    private long arriving() throws IOException {
        long n = 0;
        for (Path f : files("data")) {
            try {
                n += Files.size(f);
            } catch (java.nio.file.NoSuchFileException removedSinceListed) {
                // the message was discarded between the listing and now: it counts as nothing
            }
        }
        return n;
    }

    /** Waits (at most 20 s) until the octets of arriving text in spool/data satisfy {@code condition}. */
    private boolean awaitArriving(LongPredicate condition) throws Exception {
        return Await.within(Duration.ofSeconds(20), () -> condition.test(arriving()));
    }

    private static byte[] tail(byte[] all, int length) {
        byte[] t = new byte[length];
        System.arraycopy(all, all.length - length, t, 0, length);
        return t;
    }

    @Test
    void largeMessageGoesToTheSpoolWhileArrivingAndArrivesByteExact() throws Exception {
        mx = TestMx.start("");
        String reply;
        Body body = new Body(1, 400 * 1024);
        byte[] wire = body.wire.toByteArray();
        try (RawSmtp c = upToData("alice@example.test")) {
            int first = wire.length - 1000;
            c.send(java.util.Arrays.copyOf(wire, first));
            // Before the end of data, the text is already on disk: it was spilled past the memory limit.
            assertThat(awaitArriving(n -> n >= 300 * 1024)).as("text streamed to spool/data before the end of data").isTrue();
            c.send(java.util.Arrays.copyOfRange(wire, first, wire.length));
            c.send(".\r\n");
            reply = c.reply();
            assertThat(reply).startsWith("250 2.0.0 OK queued as");
        }
        List<Path> delivered = mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
        assertThat(delivered).hasSize(1);
        byte[] got = Files.readAllBytes(delivered.get(0));
        byte[] expected = MaildirText.lf(body.text.toByteArray());
        assertThat(got.length).isGreaterThan(expected.length);
        assertThat(tail(got, expected.length)).isEqualTo(expected);
        assertThat(new String(got, 0, got.length - expected.length, StandardCharsets.UTF_8))
                .startsWith("Return-Path: <sender@client.test>\nDelivered-To: alice@example.test\nReceived: from client.test");
        // The Maildir copy comes before the queue manager records it and removes the message: wait for that end.
        String id = reply.substring("250 2.0.0 OK queued as ".length()).strip();
        Await.within(Duration.ofSeconds(20), () -> mx.mx().spool().state(id).isEmpty());
        assertThat(dev.mxd.testing.SpoolFiles.strays(spoolDir("."))).isEmpty();
        assertThat(files("data")).as("no text left: at most its file, emptied and kept as a spare").allSatisfy(f -> {
            assertThat(dev.mxd.queue.Spool.isSpare(f)).isTrue();
            assertThat(Files.size(f)).isZero();
        });
    }

    @Test
    void refusedOrAbandonedMessagesLeaveNothingBehind() throws Exception {
        mx = TestMx.start("limits:\n  max-message-size: 256KB\n");
        byte[] tooBig = new Body(2, 300 * 1024).wire.toByteArray();
        try (RawSmtp c = upToData("alice@example.test")) {
            c.send(tooBig).send(".\r\n");
            assertThat(c.reply()).startsWith("552 5.3.4");
        }
        assertThat(files("data")).isEmpty();

        byte[] large = new Body(3, 200 * 1024).wire.toByteArray();
        try (RawSmtp c = upToData("alice@example.test")) {
            c.send(large);
            assertThat(awaitArriving(n -> n >= 100 * 1024)).isTrue();
            c.send("bare\rCR\r\n.\r\n"); // refused whatever limits.bare-lf says
            assertThat(c.reply()).startsWith("521 5.5.2");
        }
        assertThat(awaitArriving(n -> n == 0)).as("a bare LF discards the spilled text").isTrue();

        RawSmtp gone = upToData("alice@example.test");
        gone.send(large);
        assertThat(awaitArriving(n -> n >= 100 * 1024)).isTrue();
        gone.close(); // the client disappears in the middle of DATA
        assertThat(awaitArriving(n -> n == 0)).as("a client gone mid-DATA leaves no text").isTrue();

        assertThat(files("data")).isEmpty();
        assertThat(files("data")).isEmpty();
        assertThat(mx.mx().spool().ids(QueueState.INCOMING)).isEmpty();
        assertThat(mx.delivered("alice")).isEmpty();
    }

    @Test
    void concurrentLargeMessagesDoNotHoldTheirSizeInTheHeap() throws Exception {
        mx = TestMx.start("");
        int clients = 6;
        int size = 12 * 1024 * 1024;
        List<byte[]> wires = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Body b = new Body(100 + i, size);
            wires.add(b.wire.toByteArray());
            digests.add(sha256(MaildirText.lf(b.text.toByteArray())));
        }
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long before = retainedHeap(memory);
        List<RawSmtp> open = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                open.add(upToData("bob@example.test"));
            }
            long sent = 0;
            for (int i = 0; i < clients; i++) {
                byte[] w = wires.get(i);
                open.get(i).send(java.util.Arrays.copyOf(w, w.length - 100)); // all but the last line: still in flight
                sent += w.length - 100;
            }
            long target = sent - clients * (long) size / 50; // the server has read (nearly) all of it
            assertThat(awaitArriving(n -> n >= target)).as("every message streamed to spool/data").isTrue();
            long during = retainedHeap(memory);
            long grew = during - before;
            System.out.printf("heap retained with %d x %d MB in flight: before %.1f MB, during %.1f MB, growth %.1f MB (text on disk: %.1f MB)%n",
                    clients, size >> 20, before / 1048576.0, during / 1048576.0, grew / 1048576.0, arriving() / 1048576.0);
            // Holding the text would retain at least clients * size = 72 MB; streaming keeps about 64 KB + 8 KB per connection.
            assertThat(grew).as("heap growth while %d messages of %d MB are in flight", clients, size >> 20)
                    .isLessThan(clients * (long) size / 8);
            for (int i = 0; i < clients; i++) {
                byte[] w = wires.get(i);
                open.get(i).send(java.util.Arrays.copyOfRange(w, w.length - 100, w.length)).send(".\r\n");
            }
            for (RawSmtp c : open) {
                assertThat(c.reply()).startsWith("250 2.0.0 OK queued as");
            }
        } finally {
            for (RawSmtp c : open) {
                c.close();
            }
        }
        List<Path> delivered = mx.awaitDelivered("bob", clients, Duration.ofSeconds(60));
        assertThat(delivered).hasSize(clients);
        List<String> got = new ArrayList<>();
        for (Path p : delivered) {
            byte[] all = Files.readAllBytes(p);
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int start = text.indexOf("Subject: large ");
            got.add(sha256(java.util.Arrays.copyOfRange(all, start, all.length)));
        }
        assertThat(got).containsExactlyInAnyOrderElementsOf(digests);
    }

    /** Heap in use after full collections: what is really held, not garbage waiting to be collected. */
    private static long retainedHeap(MemoryMXBean memory) throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50); // lets the collection and reference processing settle; nothing observable to wait on
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
