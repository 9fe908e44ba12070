package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.EngineAddress;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A scan's deadline ends with the scan. Each connection to a filter engine has a deadline timer;
 * one that stayed queued after its connection closed would hold the channel until it would have
 * fired, a timeout's worth of scans (tens of thousands at full speed).
 */
class EngineDeadlineTest {

    @Test
    void aConnectionClosedInTimeLeavesNoDeadlineQueued() throws Exception {
        try (ServerSocket engine = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            EngineAddress address = new EngineAddress.Tcp("127.0.0.1", engine.getLocalPort());
            // the watchdog serves the whole JVM: count from what other tests' connections left there
            int before = EngineConnection.WATCHDOG.getQueue().size();
            for (int i = 0; i < 20; i++) {
                EngineConnection.open(address, Duration.ofMinutes(10)).close();
            }
            try (EngineConnection open = EngineConnection.open(address, Duration.ofMinutes(10))) {
                assertThat(EngineConnection.WATCHDOG.getQueue()).as("the open connection's deadline only").hasSize(before + 1);
            }
            assertThat(EngineConnection.WATCHDOG.getQueue()).hasSize(before);
        }
    }
}
