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
 * Issue 15 point 5: a {@code delivery.source-address} this host does not have stops the node at
 * start as a configuration error ({@code mxd serve} exits 78 on {@link NodeStart.UnusableSetting}),
 * found by a bind attempt, instead of deferring every message later.
 */
class SourceAddressStartTest {

    @TempDir
    Path dir;

    private MxdConfig config(String sourceAddress) throws Exception {
        String yaml = TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"),
                "delivery:\n  source-address: " + sourceAddress + "\n");
        return ConfigLoader.parse(yaml, dir.resolve("mxd.yaml"));
    }

    @Test
    void anAddressNotOnThisHostIsAnUnusableSetting() throws Exception {
        NodeStart start = NodeStart.attempt(config("192.0.2.77")); // TEST-NET-1: on no interface here
        assertThat(start).isInstanceOf(NodeStart.UnusableSetting.class);
        assertThat(((NodeStart.UnusableSetting) start).reason())
                .startsWith("delivery.source-address 192.0.2.77 cannot be used: ")
                .endsWith("it must be an address of this host (see ip -br addr)");
        assertThat(Files.exists(dir.resolve("data"))).as("nothing opened before the check").isFalse();
    }

    @Test
    void aLoopbackAddressStarts() throws Exception {
        NodeStart start = NodeStart.attempt(config("127.0.0.7"));
        assertThat(start).isInstanceOf(NodeStart.Running.class);
        ((NodeStart.Running) start).mx().close();
    }
}
