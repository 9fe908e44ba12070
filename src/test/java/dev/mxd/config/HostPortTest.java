package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.dns.DnsSettings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * HOST:PORT as the issues write it: an IP address, or localhost, the one name that means the same
 * whatever DNS says (a test or an operator writes --dns localhost:5354 and listen: [localhost:2525]).
 */
class HostPortTest {

    @Test
    void localhostIsTheLoopbackAddressAndOtherNamesAreRefused() throws Exception {
        assertThat(HostPort.parse("localhost:2525")).hasToString("127.0.0.1:2525");
        assertThat(HostPort.parse("LOCALHOST:25")).hasToString("127.0.0.1:25");
        assertThat(DnsSettings.parseServer("localhost")).isEqualTo(new InetSocketAddress("127.0.0.1", 53));
        assertThat(DnsSettings.parseServer("localhost:5354")).isEqualTo(new InetSocketAddress("127.0.0.1", 5354));
        assertThat(HostPort.parse("[::1]:25")).hasToString("[::1]:25");
        assertThatThrownBy(() -> HostPort.parse("mx.example.test:25")).hasMessageContaining("is not an IP address");
        MxdConfig c = ConfigLoader.parse("listen:\n  smtp: [\"localhost:2526\"]\n  admin: localhost:8026\n"
                + "dns:\n  servers: [\"localhost:5354\"]\n", Path.of("mxd.yaml"));
        assertThat(c.smtpListeners()).singleElement().hasToString("127.0.0.1:2526");
        assertThat(c.adminListener()).map(HostPort::toString).contains("127.0.0.1:8026");
    }
}
