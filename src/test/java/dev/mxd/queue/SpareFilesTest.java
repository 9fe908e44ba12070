package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.testing.SpoolFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A finished message's text file held for the next text (docs/spool.md, "Spare text files"). */
class SpareFilesTest {

    @TempDir
    Path dir;

    private static String id(StoreOutcome o) {
        return ((StoreOutcome.Stored) o).queueId();
    }

    private List<String> dataFiles() throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve("data"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Object inode(Path p) throws Exception {
        return Files.getAttribute(p, "unix:ino");
    }

    @Test
    void aFinishedTextsFileHoldsTheNextTextWithNothingOfTheOldOne() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String longBody = "Subject: first\r\n\r\n" + "old old old old\r\n".repeat(1000); // 17 KB
        String first = id(s.store(SpoolTest.message(longBody)));
        Object firstInode = inode(s.text(first));
        s.finish(QueueState.INCOMING, first);
        assertThat(dataFiles()).containsExactly("spare.0");
        assertThat(inode(dir.resolve("data/spare.0"))).isEqualTo(firstInode);

        String second = id(s.store(SpoolTest.message("Subject: second\r\n\r\nnew\r\n")));
        assertThat(dataFiles()).as("the spare became the new text").containsExactly(second);
        assertThat(inode(s.text(second))).isEqualTo(firstInode);
        Envelope e = s.envelope(QueueState.INCOMING, second);
        byte[] file = Files.readAllBytes(s.text(second));
        String text = new String(file, 0, (int) e.size(), StandardCharsets.US_ASCII);
        assertThat(text).endsWith("Subject: second\r\n\r\nnew\r\n");
        assertThat(new String(file, StandardCharsets.US_ASCII)).as("cut to its length: nothing of the longer old text")
                .doesNotContain("old old").endsWith("\n#mxd-envelope " + String.format("%010d",
                        file.length - e.size() - EnvelopeFile.FOOTER) + "\n");
        assertThat(Files.isSameFile(dir.resolve("incoming").resolve(second + ".json"), s.text(second))).isTrue();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
        // And after a restart the message is there, whole.
        Spool again = Spool.open(dir, "mx.test", Clock.systemUTC());
        assertThat(again.ids(QueueState.INCOMING)).containsExactly(second);
        assertThat(again.envelope(QueueState.INCOMING, second).size()).isEqualTo(e.size());
    }

    @Test
    void aLargeTextIsRemovedNotKept() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String large = id(s.store(SpoolTest.message("Subject: big\r\n\r\n" + "x".repeat(99) + "\r\n".repeat(1) + "y\r\n".repeat(40_000))));
        assertThat(Files.size(s.text(large))).isGreaterThan(SpareFiles.KEPT_SIZE);
        s.finish(QueueState.INCOMING, large);
        assertThat(dataFiles()).isEmpty();
    }

    @Test
    void noMoreThanTheLimitAreKept() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        SpareFiles spares = new SpareFiles(data, 2);
        for (int i = 0; i < 3; i++) {
            spares.give(Files.writeString(data.resolve("T" + i), "text " + i));
        }
        assertThat(spares.size()).isEqualTo(2);
        assertThat(dataFiles()).containsExactly("spare.0", "spare.1");
        assertThat(spares.take(data.resolve("N"))).isTrue();
        assertThat(spares.take(data.resolve("M"))).isTrue();
        assertThat(spares.take(data.resolve("O"))).as("none left: the caller creates its file").isFalse();
        assertThat(dataFiles()).containsExactly("M", "N");
    }

    @Test
    void sparesOutliveARestartAndAreNoMessages() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String a = id(s.store(SpoolTest.message("Subject: a\r\n\r\nx\r\n")));
        String b = id(s.store(SpoolTest.message("Subject: b\r\n\r\nx\r\n")));
        s.finish(QueueState.INCOMING, a);
        s.finish(QueueState.INCOMING, b);
        Files.writeString(dir.resolve("data/spare.notanumber"), "left by hand");
        assertThat(dataFiles()).containsExactly("spare.0", "spare.1", "spare.notanumber");

        Spool again = Spool.open(dir, "mx.test", Clock.systemUTC());
        assertThat(dataFiles()).as("ours kept, a foreign name removed").containsExactly("spare.0", "spare.1");
        for (QueueState q : QueueState.values()) {
            assertThat(again.ids(q)).isEmpty();
        }
        String next = id(again.store(SpoolTest.message("Subject: after\r\n\r\nx\r\n")));
        assertThat(dataFiles()).hasSize(2).contains(next);
        again.finish(QueueState.INCOMING, next);
        assertThat(dataFiles()).as("a name not used by a kept spare").hasSize(2).allMatch(n -> n.startsWith("spare."));
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void anEnvelopeWhoseFileNowHoldsAnotherMessageIsGoneNotShownAsThatMessage() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String other = id(s.store(SpoolTest.message("Subject: other\r\n\r\nx\r\n")));
        // What a reader holding a finished message's envelope link sees once the file holds the next text.
        Files.createLink(dir.resolve("deferred/GONE00000001.json"), s.text(other));
        assertThatThrownBy(() -> s.envelope(QueueState.DEFERRED, "GONE00000001")).isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(other);
    }
}
