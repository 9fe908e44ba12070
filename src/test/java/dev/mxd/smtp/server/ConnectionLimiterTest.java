package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * The networks connections are counted by (limits.max-connections-per-network): an IPv4 /24 and
 * an IPv6 /64. Loopback has one IPv6 address, so the /64 is checked here rather than end to end
 * (SlowAndJunkClientsTest covers the /24 with real connections).
 */
class ConnectionLimiterTest {

    @Test
    void ipv4AddressesShareTheirSlash24() throws Exception {
        assertThat(ConnectionLimiter.network(InetAddress.getByName("192.0.2.77"))).isEqualTo(InetAddress.getByName("192.0.2.0"));
        assertThat(ConnectionLimiter.network(InetAddress.getByName("192.0.2.1")))
                .isEqualTo(ConnectionLimiter.network(InetAddress.getByName("192.0.2.254")))
                .isNotEqualTo(ConnectionLimiter.network(InetAddress.getByName("192.0.3.1")));
    }

    @Test
    void ipv6AddressesShareTheirSlash64() throws Exception {
        assertThat(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:a:b:c:d")))
                .isEqualTo(InetAddress.getByName("2001:db8:1:2::"))
                .isEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:ffff::1")))
                .isNotEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:3:a:b:c:d")));
    }
}
