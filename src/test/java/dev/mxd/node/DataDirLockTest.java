package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One node per data directory (Postfix's master.lock): a second node on the same directory is
 * refused before its spool recovery touches the running node's files; once the first has stopped,
 * a node starts there again.
 */
class DataDirLockTest {

    @Test
    void aSecondNodeOnTheSameDataDirectoryIsRefusedBeforeItTouchesTheSpool(@TempDir Path dir) throws Exception {
        try (TestMx first = TestMx.startIn(dir, "")) {
            MxdConfig same = first.mx().config();
            Path spool = same.dataDir().resolve("spool");
            // A message as the running node has it mid-delivery: a second node's recovery would move it back to incoming/.
            Path active = spool.resolve(QueueState.ACTIVE.directory()).resolve("MXTESTLOCK.json");
            Files.writeString(active, "{}");
            MxdConfig other = ConfigLoader.parse(TestMx.yaml(same.dataDir(), FreePort.tcpAndUdp("127.0.0.1"), ""), dir.resolve("other.yaml"));
            assertThatThrownBy(() -> ReceivingMx.start(other)).isInstanceOf(IOException.class)
                    .hasMessageContaining("another mxd serve is running on the data directory")
                    .hasMessageContaining(String.valueOf(ProcessHandle.current().pid()));
            assertThat(active).as("left where the running node has it").exists();
            Files.delete(active);
            assertThat(NodeStart.attempt(other)).as("mxd serve exits 75 (temporary), naming the holder")
                    .isInstanceOf(NodeStart.Failed.class);
        }
        MxdConfig again = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"), ""), dir.resolve("again.yaml"));
        try (ReceivingMx restarted = ReceivingMx.start(again)) {
            assertThat(restarted.spool().root()).exists();
        }
    }

    /**
     * A data directory mxd may not write (another user's after a start as root, or immutable; staged
     * with chattr +i, which stops root too): the start said only "cannot start: DATA-DIR/mxd.lock"
     * and exited 75, so systemd restarted it every 5 seconds for ever. Now it is a setting (exit
     * 78) and the reason says owner, mode and what to do.
     */
    @Test
    void aDataDirectoryMxdMayNotWriteIsASettingWithWhatToDo(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        MxdConfig c = ConfigLoader.parse(TestMx.yaml(data, FreePort.tcpAndUdp("127.0.0.1"), ""), dir.resolve("mxd.yaml"));
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", java.util.List.of(data)),
                "chattr +i needs root on a file system with attributes");
        try {
            NodeStart start = NodeStart.attempt(c);
            assertThat(start).isInstanceOfSatisfying(NodeStart.UnusableSetting.class, u -> assertThat(u.reason())
                    .contains("data-dir: " + data.resolve("mxd.lock"), "not permitted", "owner ", "mode rwx",
                            "chown -R " + System.getProperty("user.name") + ": " + data));
        } finally {
            assertThat(dev.mxd.testing.Chattr.change("-i", java.util.List.of(data))).isTrue();
        }
    }
}
