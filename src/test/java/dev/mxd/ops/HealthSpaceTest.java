package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Processes;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * /health and the spool's file system (issue 16 point 7): the data directory is a small tmpfs the
 * test mounts as root (as DiskFullTest does), filled for real, so mxd answers 452 4.3.1 from a file
 * system that is truly full; /health must say so with 503, and be well again once space is back.
 */
@PeerTest
class HealthSpaceTest {

    private Path dir;
    private Path data;
    private boolean mounted;

    @BeforeEach
    void mountDataDir() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root to mount a tmpfs for the data directory (run the peer tests as root, as CI does)");
        dir = Files.createTempDirectory("mxd-health");
        data = Files.createDirectories(dir.resolve("data"));
    }

    private void mount(String options) throws Exception {
        mounted = Processes.run("mount", "-t", "tmpfs", "-o", options, "tmpfs", data.toString()) == 0;
        assumeTrue(mounted, "mount -t tmpfs -o " + options + " tmpfs " + data + " failed: this machine lets no tmpfs be mounted");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            Processes.run("umount", data.toString());
        }
        if (dir != null) {
            TestDirs.deleteTree(dir);
        }
    }

    @Test
    void healthIs503WhileMessagesGet452ForLackOfSpaceAndOkOnceOneIsStoredAgain() throws Exception {
        mount("size=8m");
        // min-free-space 0: only the refused message itself can make the space check fail here
        try (TestMx mx = TestMx.startWithAdmin(dir, "", "limits:\n  min-free-space: 0\n")) {
            AdminHttp admin = new AdminHttp(mx);
            JsonNode space = Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> health(admin, 200).path("checks").path("space"), s -> s.path("free_inodes").isIntegralNumber());
            assertThat(space.path("ok").asBoolean()).isTrue();
            assertThat(space.path("total_bytes").asLong()).isEqualTo(8L << 20);
            assertThat(space.path("free_bytes").asLong()).isBetween(7L << 20, 8L << 20);
            assertThat(space.path("free_inodes").asLong()).isPositive().isLessThan(space.path("total_inodes").asLong());

            Path filler = data.resolve("filler");
            fillUp(filler);
            assertThat(mx.replyToMessage("alice@example.test", "on a full disk")).startsWith("452 4.3.1");

            JsonNode failing = health(admin, 503);
            assertThat(failing.path("status").asText()).isEqualTo("failing");
            assertThat(failing.path("checks").path("space").path("ok").asBoolean()).isFalse();
            assertThat(failing.path("reasons").toString()).contains("space: the last message was refused with 452 4.3.1")
                    .contains("No space left on device");
            assertThat(failing.path("checks").path("spool").path("ok").asBoolean()).as("a full disk is the space check's").isTrue();

            Files.delete(filler);
            assertThat(mx.replyToMessage("alice@example.test", "space is back")).startsWith("250 ");
            JsonNode back = health(admin, 200);
            assertThat(back.path("reasons")).isEmpty();
            assertThat(back.path("checks").path("space").path("free_bytes").asLong()).isGreaterThan(7L << 20);
        }
    }

    @Test
    void healthIs503WhileFreeSpaceOrInodesAreUnderTheMinimum() throws Exception {
        mount("size=8m,nr_inodes=1500");
        try (TestMx mx = TestMx.startWithAdmin(dir, "", "limits:\n  min-free-space: 4MB\n")) {
            AdminHttp admin = new AdminHttp(mx);
            health(admin, 200);

            Path filler = data.resolve("filler");
            write(filler, Files.getFileStore(data).getUsableSpace() - (2L << 20));
            JsonNode low = health(admin, 503);
            assertThat(low.path("reasons").toString()).contains("space: ").contains("under limits.min-free-space 4.0 MB");
            // Not full yet, so mail is still taken: /health warns before clients see 452.
            assertThat(mx.replyToMessage("alice@example.test", "under the minimum")).startsWith("250 ");
            Files.delete(filler);
            health(admin, 200);

            Path many = Files.createDirectories(data.resolve("many"));
            long free = Awaitility.await().atMost(Duration.ofSeconds(15)).until(
                    () -> health(admin, 200).path("checks").path("space").path("free_inodes").asLong(0), n -> n > 0);
            for (long i = 0; i < free - 1000 + 10; i++) {
                Files.createFile(many.resolve("f" + i));
            }
            JsonNode fewInodes = Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                    .until(() -> admin.send("GET", "/health", null), a -> a.status() == 503).json();
            assertThat(fewInodes.path("reasons").toString()).contains("inodes free, under 1000");
            TestDirs.deleteTree(many);
            Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                    .until(() -> admin.send("GET", "/health", null).status() == 200);
        }
    }

    /** /health, which must answer {@code status}; its JSON. */
    private static JsonNode health(AdminHttp admin, int status) throws Exception {
        AdminHttp.Answer a = admin.send("GET", "/health", null);
        assertThat(a.status()).as("/health: %s", a.body()).isEqualTo(status);
        return a.json();
    }

    /** Writes until the file system refuses: a disk as full as it gets. */
    private static void fillUp(Path filler) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(filler.toFile(), "rw")) {
            byte[] block = new byte[64 * 1024];
            while (true) {
                f.write(block);
            }
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left on device");
        }
    }

    private static void write(Path file, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] block = new byte[1 << 20];
            for (long written = 0; written < size; written += block.length) {
                f.write(block, 0, (int) Math.min(block.length, size - written));
            }
        }
    }
}
