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

    @Test
    void unitRunsTheExampleWithItsDataDirectoryWritableAndHardened() throws Exception {
        String unit = Files.readString(UNIT);
        assertThat(unit).contains("User=mxd", "ExecStart=/opt/mxd/mxd serve --config /etc/mxd/mxd.yaml",
                "ReadWritePaths=/var/lib/mxd", "StateDirectory=mxd", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure", "TimeoutStopSec=",
                "RestartPreventExitStatus=78");
        assertThat(unit).as("the JIT needs writable executable memory").doesNotContain("\nMemoryDenyWriteExecute=");
        assertThat(Files.readString(Path.of("packaging/mxd.sysusers"))).contains("u mxd ");
    }
}
