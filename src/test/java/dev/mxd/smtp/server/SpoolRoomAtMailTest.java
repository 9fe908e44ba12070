package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import dev.mxd.config.Timeouts;
import dev.mxd.mail.MessageStore;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spool's room for a declared size is looked at when MAIL comes, as Postfix's smtpd checks it: a SIZE= of half
 * the free space or more gets 452 4.3.1 (RFC 1870 §6.1) before the client sends its text; a smaller one, or none, is
 * taken (mail without SIZE= goes on until the disk is really full). The spool is real; the free space it reports is
 * set by the test (a disk cannot be filled to order here).
 */
class SpoolRoomAtMailTest {

    @TempDir
    Path dir;

    @Test
    void mailWaitsForRoomInTheSpool() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        assertThat(spool.freeSpace()).as("the file system's usable space")
                .isPositive().isLessThanOrEqualTo(Files.getFileStore(dir).getTotalSpace());
        AtomicLong free = new AtomicLong(180_000);
        MessageStore store = new MessageStore() {
            @Override
            public IncomingMessage begin(dev.mxd.mail.Transaction transaction) {
                return spool.begin(transaction);
            }

            @Override
            public long freeSpace() {
                return free.get();
            }
        };
        EmbeddedClient ch = EmbeddedClient.connectedTo(new SmtpConnectionHandler("mx.example.test", Limits.DEFAULTS,
                new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10),
                        Duration.ofMinutes(9)),
                Optional.empty(), new RelayEveryone(), store, ForkJoinPool.commonPool(), (stage, code) -> { }, ClientNameLookup.NONE));
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");
        send(ch, "EHLO client.test\r\n");
        ch.written();

        send(ch, "MAIL FROM:<a@client.test> SIZE=20000000\r\n");
        assertThat(ch.written()).as("20 MB declared, 180 KB free").startsWith("452 4.3.1 ");
        send(ch, "RCPT TO:<b@far.test>\r\n");
        assertThat(ch.written()).as("no transaction began").startsWith("503 ");
        send(ch, "MAIL FROM:<a@client.test> SIZE=90000\r\n");
        assertThat(ch.written()).as("half of what is left").startsWith("452 4.3.1 ");
        send(ch, "MAIL FROM:<a@client.test> SIZE=1000\r\n");
        assertThat(ch.written()).startsWith("250 ");
        send(ch, "RSET\r\nMAIL FROM:<a@client.test>\r\n");
        assertThat(ch.written()).as("no SIZE=: taken while the disk has room").contains("250 2.1.0").doesNotContain("452");
        send(ch, "RCPT TO:<b@far.test>\r\nDATA\r\n");
        assertThat(ch.written()).contains("354 ");
        send(ch, "Subject: t\r\n\r\nhi\r\n.\r\n");
        StringBuilder out = new StringBuilder();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            ch.runPendingTasks();
            out.append(ch.written());
            return out.toString().contains("250 2.0.0");
        });
        assertThat(spool.ids(QueueState.INCOMING)).hasSize(1);
        ch.close();
    }

    private static void send(EmbeddedClient ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        ch.runPendingTasks();
    }
}
