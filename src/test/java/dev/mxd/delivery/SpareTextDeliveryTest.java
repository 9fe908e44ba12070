package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.Spool;
import dev.mxd.testing.Await;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A delivered message's text file holds the next message's text (docs/spool.md, "Spare text
 * files"): end to end, the shorter message that follows a longer one reaches its mailbox whole
 * and with nothing of the other.
 */
class SpareTextDeliveryTest {

    private TestMx mx;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.start("trusted-networks: []\n");
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    private List<String> spoolData() throws Exception {
        try (Stream<Path> s = Files.list(mx.mx().spool().root().resolve("data"))) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    @Test
    void theMessageAfterALongerOneIsDeliveredWithNothingOfIt() throws Exception {
        String filler = "private words of the first message\r\n".repeat(600); // 21 KB
        mx.send("", "alice@example.test", ("Subject: long\r\n\r\n" + filler).getBytes(StandardCharsets.US_ASCII));
        mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
        assertThat(Await.within(Duration.ofSeconds(10), this::onlyEmptySpares)).as("its file emptied, a spare: %s", spoolData()).isTrue();
        // A spare is handed out after the next fsync of data/: this message's commit makes one.
        mx.send("", "alice@example.test", "Subject: between\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
        mx.awaitDelivered("alice", 2, Duration.ofSeconds(20));

        mx.send("", "bob@example.test", "Subject: short\r\n\r\nhello bob\r\n".getBytes(StandardCharsets.US_ASCII));
        List<Path> bob = mx.awaitDelivered("bob", 1, Duration.ofSeconds(20));
        String copy = Files.readString(bob.get(0), StandardCharsets.US_ASCII);
        assertThat(copy).contains("Subject: short\n").endsWith("\nhello bob\n").doesNotContain("private words")
                .doesNotContain("#mxd-envelope");
        assertThat(Await.within(Duration.ofSeconds(10), this::onlyEmptySpares)).as("every file a spare again: %s", spoolData()).isTrue();
        assertThat(spoolData()).as("three messages, at most three spares: the short one took one").hasSizeLessThan(3);
    }

    /** The spool's data/ holds only spares, all empty (a delivered message's file becomes one a moment after its delivery). */
    private boolean onlyEmptySpares() throws Exception {
        List<String> files = spoolData();
        Path data = mx.mx().spool().root().resolve("data");
        for (String f : files) {
            if (!Spool.isSpare(Path.of(f)) || Files.size(data.resolve(f)) != 0) {
                return false;
            }
        }
        return !files.isEmpty();
    }
}
