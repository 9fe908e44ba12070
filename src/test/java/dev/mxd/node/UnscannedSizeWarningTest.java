package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the defaults a message of exactly limits.max-message-size is over clamd's stream limit once
 * mxd's Received header is on it, and on-too-large accept lets it through unscanned (a sender can
 * choose that): the start says so, naming the size to set; a limit above it says nothing.
 */
class UnscannedSizeWarningTest {

    @Test
    void aClamdStreamLimitUnderTheLargestMessageIsWarnedOf(@TempDir Path dir) throws Exception {
        int clamd = FreePort.tcpAndUdp("127.0.0.1");
        try (LogCapture log = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.startWithAdmin(java.nio.file.Files.createDirectories(dir.resolve("a")), "filter:\n  engines: [clamd]\n",
                     "filters:\n  clamd: {address: \"127.0.0.1:" + clamd + "\"}\n")) {
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("filters.clamd.stream-max-length (26214400 octets)")
                    .contains("accepted without a virus scan").contains("at least 26279936"));
        }
        try (LogCapture log = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.startWithAdmin(java.nio.file.Files.createDirectories(dir.resolve("b")), "filter:\n  engines: [clamd]\n",
                     "filters:\n  clamd: {address: \"127.0.0.1:" + clamd + "\", stream-max-length: 26M}\n")) {
            assertThat(log.lines()).noneSatisfy(l -> assertThat(l).contains("stream-max-length"));
        }
    }
}
