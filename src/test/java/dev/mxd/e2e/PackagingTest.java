package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.config.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The files in packaging/ fit together and with the code: the example configuration loads as
 * {@code mxd serve} would load it, and the systemd unit runs that file with the data directory
 * writable and port 25 allowed (issue 5 point 6).
 */
class PackagingTest {

    static final Path UNIT = Path.of("packaging/mxd.service");
    static final Path CONFIG = Path.of("packaging/mxd.yaml");

    @Test
    void exampleConfigurationLoads() throws Exception {
        MxdConfig c = ConfigLoader.load(CONFIG);
        assertThat(c.hostname()).isEqualTo("mx1.example.org");
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/mxd"));
        assertThat(c.smtpListeners()).allSatisfy(l -> assertThat(l.port()).isEqualTo(25));
        assertThat(c.domain("example.org").orElseThrow().role()).isEqualTo(Role.LOCAL);
        assertThat(c.domain("example.net").orElseThrow().role()).isEqualTo(Role.BACKUP);
        assertThat(c.delivery().doubleBounceRecipient()).contains("postmaster@example.org");
    }

    /**
     * The example listens on 0.0.0.0:25 and [::]:25, as Postfix's inet_interfaces = all does: on a
     * host with IPv6 the JVM's first socket takes both families, and the second bind failed with
     * "Address already in use", so the packaged configuration never started (exit 75, restarted by
     * systemd every 5 seconds). Started here as it is, but on a free port, a temporary data
     * directory and a DNS port on loopback where nothing answers.
     */
    @Test
    void exampleConfigurationStartsAndListensOnBothFamilies() throws Exception {
        int port = dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1");
        Path data = Files.createTempDirectory("mxd-packaging");
        String yaml = Files.readString(CONFIG);
        assertThat(yaml).contains("\"0.0.0.0:25\", \"[::]:25\"", "  # servers: [\"127.0.0.1:53\"]");
        assertThat(yaml).contains("admin: \"127.0.0.1:8025\"", "file: /var/log/mxd/mxd.log");
        yaml = yaml.replace(":25\"", ":" + port + "\"").replace("/var/lib/mxd", data.toString())
                .replace("127.0.0.1:8025", "127.0.0.1:" + dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1"))
                .replace("  # servers: [\"127.0.0.1:53\"]", "  servers: [\"127.0.0.1:" + dev.mxd.testing.FreePort.tcpAndUdp("127.0.0.1") + "\"]");
        try (dev.mxd.node.ReceivingMx mx = dev.mxd.node.ReceivingMx.start(ConfigLoader.parse(yaml, data.resolve("mxd.yaml")))) {
            try (dev.mxd.testing.RawSmtp c = new dev.mxd.testing.RawSmtp(new java.net.InetSocketAddress("127.0.0.1", port))) {
                assertThat(c.code()).isEqualTo(220);
            }
            java.net.InetAddress v6 = java.net.InetAddress.getByName("::1");
            org.junit.jupiter.api.Assumptions.assumeTrue(bindable(v6), "IPv6 loopback on this host");
            try (dev.mxd.testing.RawSmtp c = new dev.mxd.testing.RawSmtp(new java.net.InetSocketAddress(v6, port))) {
                assertThat(c.code()).isEqualTo(220);
            }
        } finally {
            dev.mxd.testing.TestDirs.deleteTree(data);
        }
    }

    @Test
    void unitRunsTheExampleWithItsDataDirectoryWritableAndHardened() throws Exception {
        String unit = Files.readString(UNIT);
        assertThat(unit).contains("User=mxd", "ExecStart=/opt/mxd/mxd serve --config /etc/mxd/mxd.yaml",
                "ReadWritePaths=/var/lib/mxd", "StateDirectory=mxd", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure", "TimeoutStopSec=",
                "RestartPreventExitStatus=78");
        assertThat(unit).as("the file checked before the SIGHUP, so a bad one fails systemctl reload")
                .contains("ExecReload=/opt/mxd/mxd serve --config /etc/mxd/mxd.yaml --check\nExecReload=/bin/kill -HUP $MAINPID")
                .doesNotContain("Environment=MXD_LOG_LEVEL");
        assertThat(unit).as("the JIT needs writable executable memory").doesNotContain("\nMemoryDenyWriteExecute=");
        assertThat(Files.readString(Path.of("packaging/mxd.sysusers"))).contains("u mxd ");
    }

    private static boolean bindable(java.net.InetAddress address) {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, address)) {
            return true;
        } catch (java.io.IOException none) {
            return false;
        }
    }
}
