package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A node that is closed (an embedding program stopping it; `mxd serve` at SIGTERM) keeps no file of its data directory
 * open. The spool's directory descriptors (kept for its group fsyncs) and the accept journal's segment stayed open: a
 * program that stopped and started a node leaked five descriptors a time, and a data directory on its own file system
 * could not be unmounted until the JVM ended.
 */
class StopLetsGoOfFilesTest {

    @Test
    void aClosedNodeHoldsNoDescriptorInItsDataDirectory() throws Exception {
        Path dir = Files.createTempDirectory("mxd-stop-files");
        try {
            try (TestMx mx = TestMx.startIn(dir, "delivery:\n  retry: {first: 1h, max: 1h, give-up: 1d}\n")) {
                mx.sendTo("alice@example.test");
                mx.sendTo("bob@nowhere.test"); // deferred: its files stay for the next start
                mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
                assertThat(openUnder(dir)).as("while it runs").isNotEmpty();
            }
            assertThat(openUnder(dir)).as("descriptors left open after close").isEmpty();
            try (TestMx again = TestMx.startIn(dir, "delivery:\n  retry: {first: 1h, max: 1h, give-up: 1d}\n")) {
                assertThat(again.mx().spool().ids(dev.mxd.queue.QueueState.DEFERRED)
                        .size() + again.mx().spool().ids(dev.mxd.queue.QueueState.INCOMING).size()).as("the deferred message kept").isEqualTo(1);
            }
            assertThat(openUnder(dir)).isEmpty();
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    /** What this JVM's open descriptors point at under {@code dir}. */
    private static List<String> openUnder(Path dir) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException gone) {
                    return "";
                }
            }).filter(target -> target.startsWith(dir.toString())).toList();
        }
    }
}
