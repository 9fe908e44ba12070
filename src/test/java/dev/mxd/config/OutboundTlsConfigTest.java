package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Issue 17's contract: {@code delivery.tls} with {@code dane}, {@code mta-sts}, {@code ca-file}, {@code reports}. */
class OutboundTlsConfigTest {

    private static MxdConfig load(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, Path.of("mxd.yaml"));
    }

    @Test
    void everythingIsOnByDefault() throws Exception {
        assertThat(load("hostname: mx.test\n").delivery().tls()).isEqualTo(OutboundTls.DEFAULTS);
        assertThat(OutboundTls.DEFAULTS).isEqualTo(new OutboundTls(true, true, Optional.empty(), true));
        assertThat(load("delivery:\n  tls: {}\n").delivery().tls()).isEqualTo(OutboundTls.DEFAULTS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"off", "\"off\"", "false", "Off"})
    void offAsBooleanOrString(String off) throws Exception {
        OutboundTls t = load("delivery:\n  tls:\n    dane: " + off + "\n    mta-sts: " + off + "\n    reports: " + off + "\n")
                .delivery().tls();
        assertThat(t.dane()).isFalse();
        assertThat(t.mtaSts()).isFalse();
        assertThat(t.reports()).isFalse();
        OutboundTls on = load("delivery:\n  tls:\n    dane: on\n    mta-sts: \"on\"\n    reports: true\n").delivery().tls();
        assertThat(on.dane() && on.mtaSts() && on.reports()).isTrue();
    }

    @Test
    void anythingElseIsAnErrorWithItsLine() {
        ConfigException e = ConfigLoaderTest.error("hostname: mx.test\ndelivery:\n  tls:\n    dane: maybe\n");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).contains("delivery.tls.dane: 'maybe' is not on or off");
    }

    @Test
    void anUnknownKeyIsAnError() {
        ConfigException e = ConfigLoaderTest.error("delivery:\n  tls:\n    mta_sts: on\n");
        assertThat(e.getMessage()).contains("mta_sts");
    }

    @Test
    void theCaFileMustBeReadable(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
        assertThat(load("delivery:\n  tls:\n    ca-file: " + ca + "\n").delivery().tls().caFile()).contains(ca);
        ConfigException e = ConfigLoaderTest.error("delivery:\n  tls:\n    ca-file: " + dir.resolve("missing.pem") + "\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("missing.pem does not exist or cannot be read");
    }
}
