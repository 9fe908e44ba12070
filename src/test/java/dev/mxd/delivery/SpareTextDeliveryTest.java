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
        assertThat(Await.within(Duration.ofSeconds(10), this::oneSpareLeft)).as("its file kept as a spare: %s", spoolData()).isTrue();

        mx.send("", "bob@example.test", "Subject: short\r\n\r\nhello bob\r\n".getBytes(StandardCharsets.US_ASCII));
        List<Path> bob = mx.awaitDelivered("bob", 1, Duration.ofSeconds(20));
        String copy = Files.readString(bob.get(0), StandardCharsets.US_ASCII);
        assertThat(copy).contains("Subject: short\n").endsWith("\nhello bob\n").doesNotContain("private words")
                .doesNotContain("#mxd-envelope");
        assertThat(Await.within(Duration.ofSeconds(10), this::oneSpareLeft)).as("the same file, a spare again: %s", spoolData()).isTrue();
    }

    /** The spool's data/ holds one file, a spare (a delivered message's file becomes one a moment after the delivery). */
    private boolean oneSpareLeft() throws Exception {
        List<String> files = spoolData();
        return files.size() == 1 && Spool.isSpare(Path.of(files.get(0)));
    }
}
