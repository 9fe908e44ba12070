package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The operations keys: listen.admin, admin-token-file and log (docs/config.md). */
class OperationsConfigTest {

    static MxdConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, Path.of("mxd.yaml"));
    }

    @Test
    void defaults() throws Exception {
        MxdConfig c = parse("hostname: mx.test\ndata-dir: /var/lib/mxd\n");
        assertThat(c.adminListener()).isEmpty();
        assertThat(c.adminToken()).isEqualTo(Path.of("/var/lib/mxd/admin.token"));
        assertThat(c.log()).isEqualTo(Logging.DEFAULTS);
        assertThat(MxdConfig.embeddedDefault("me").adminListener()).contains(HostPort.parse("127.0.0.1:8025"));
    }

    @Test
    void tokenFileAndLog() throws Exception {
        MxdConfig c = parse("listen:\n  admin: \"127.0.0.1:8025\"\nadmin-token-file: /etc/mxd/admin.token\n"
                + "log:\n  level: debug\n  file: /var/log/mxd.log\n");
        assertThat(c.adminToken()).isEqualTo(Path.of("/etc/mxd/admin.token"));
        assertThat(c.log()).isEqualTo(new Logging(Logging.Level.DEBUG, Optional.of(Path.of("/var/log/mxd.log"))));
    }

    @Test
    void nonLoopbackAdminNeedsATokenFileYouChose() throws Exception {
        assertThatThrownBy(() -> parse("listen:\n  admin: \"192.0.2.1:8025\"\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listen.admin 192.0.2.1:8025 is not a loopback address")
                .hasMessageContaining("set admin-token-file");
        assertThat(parse("listen:\n  admin: \"192.0.2.1:8025\"\nadmin-token-file: /etc/mxd/admin.token\n").adminListener())
                .contains(HostPort.parse("192.0.2.1:8025"));
        assertThat(parse("listen:\n  admin: \"[::1]:8025\"\n").adminListener()).isPresent();
    }

    @Test
    void badLogKeysNameTheLine() {
        assertThatThrownBy(() -> parse("hostname: mx.test\nlog:\n  level: loud\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("log.level 'loud' is not one of trace, debug, info, warn, error, off");
        assertThatThrownBy(() -> parse("hostname: mx.test\nlog:\n  lvl: info\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("mxd.yaml:3: unknown key 'lvl' in log; known keys here: file, level");
    }
}
