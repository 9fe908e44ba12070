package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EngineAddressTest {

    @Test
    void parsesHostPortIpv6AndUnix() {
        assertThat(EngineAddress.parse("127.0.0.1:3310")).isEqualTo(new EngineAddress.Tcp("127.0.0.1", 3310));
        assertThat(EngineAddress.parse("[::1]:783")).isEqualTo(new EngineAddress.Tcp("::1", 783));
        assertThat(EngineAddress.parse("unix:/run/clamav/clamd.ctl")).isEqualTo(new EngineAddress.Unix(Path.of("/run/clamav/clamd.ctl")));
        assertThat(EngineAddress.parse("[::1]:783").toString()).isEqualTo("[::1]:783");
    }

    @Test
    void wrongAddressesSayHowToWriteThem() {
        assertThatThrownBy(() -> EngineAddress.parse("localhost")).hasMessageContaining("write HOST:PORT");
        assertThatThrownBy(() -> EngineAddress.parse("::1:783")).hasMessageContaining("in brackets");
        assertThatThrownBy(() -> EngineAddress.parse("unix:clamd.ctl")).hasMessageContaining("absolute path");
        assertThatThrownBy(() -> EngineAddress.parse("h:99999")).hasMessageContaining("1 to 65535");
        assertThatThrownBy(() -> EngineAddress.parse("h:x")).hasMessageContaining("must be a number");
    }
}
