package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file in the accept journal's directory that is no segment (another version's, something an operator put there) is
 * the operator's to deal with: the start refuses it as a setting ({@code mxd serve} exits 78, which the packaged systemd
 * unit does not restart), saying what to do. It was a temporary failure (exit 75), restarted every few seconds.
 */
class ForeignJournalFileStartTest {

    @TempDir
    Path dir;

    @Test
    void aForeignFileInTheJournalIsAnUnusableSetting() throws Exception {
        Path journal = Files.createDirectories(dir.resolve("data/spool/journal"));
        Path foreign = Files.writeString(journal.resolve("notes.txt"), "an operator's notes\n");
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"), ""),
                dir.resolve("mxd.yaml"));
        NodeStart start = NodeStart.attempt(config);
        assertThat(start).isInstanceOfSatisfying(NodeStart.UnusableSetting.class, u -> assertThat(u.reason())
                .startsWith("data-dir: " + foreign + " is not a segment of the accept journal")
                .contains("move the file out of " + journal));
        assertThat(foreign).as("left where it is").exists();

        Files.delete(foreign);
        NodeStart again = NodeStart.attempt(config);
        assertThat(again).isInstanceOf(NodeStart.Running.class);
        ((NodeStart.Running) again).mx().close();
    }
}
