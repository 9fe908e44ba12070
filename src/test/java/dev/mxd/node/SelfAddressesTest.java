package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.HostPort;
import java.net.InetAddress;
import dev.mxd.dns.MxPolicy;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which addresses are this server for the MX loop check: its listeners on the port it delivers to. */
class SelfAddressesTest {

    @Test
    void aListenerOnTheDeliveryPortIsThisHostAndOneOnAnotherPortIsNot() throws Exception {
        List<HostPort> listeners = List.of(HostPort.parse("127.0.0.5:2525"), HostPort.parse("127.0.0.6:587"));
        assertThat(ReceivingMx.selfAddresses(listeners, 2525)).containsExactly(InetAddress.getByName("127.0.0.5"));
        assertThat(ReceivingMx.selfAddresses(listeners, 25)).as("a server on port 25 there is another one").isEmpty();
    }

    /** The listeners on other ports, by port: a relay host or route there ([localhost]:587 here) is this server. */
    @Test
    void listenersOnOtherPortsAreKeptByPort() throws Exception {
        List<HostPort> listeners = List.of(HostPort.parse("127.0.0.5:2525"), HostPort.parse("127.0.0.6:587"), HostPort.parse("0.0.0.0:10025"));
        var other = ReceivingMx.otherPortAddresses(listeners, 2525);
        assertThat(other).containsOnlyKeys(587, 10025);
        assertThat(other.get(587)).containsExactly(InetAddress.getByName("127.0.0.6"));
        assertThat(MxPolicy.defaults().withLocalAddresses(other.get(10025)).isLocal(InetAddress.getByName("127.0.0.1"))).isTrue();
    }

    @Test
    void aWildcardListenerMakesEveryAddressOfThisHostItsOwn() throws Exception {
        Set<InetAddress> self = ReceivingMx.selfAddresses(List.of(HostPort.parse("0.0.0.0:25")), 25);
        assertThat(self).contains(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("0.0.0.0"));
        MxPolicy policy = MxPolicy.defaults().withLocalAddresses(self);
        assertThat(policy.isLocal(InetAddress.getByName("127.0.0.2"))).as("the whole loopback range reaches the listener").isTrue();
        assertThat(policy.isLocal(InetAddress.getByName("0.0.0.0"))).isTrue();
        assertThat(policy.isLocal(InetAddress.getByName("192.0.2.1"))).isFalse();
        // The JVM binds 0.0.0.0 on a dual-stack IPv6 socket: it takes IPv6 connections too, so this host's IPv6 addresses are
        // its own as well (an MX whose AAAA is one of them would bring the mail back here until its hop count ran out).
        InetAddress loopback6 = InetAddress.getByName("::1");
        boolean v6 = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(n -> java.util.Collections.list(n.getInetAddresses()).stream()).anyMatch(loopback6::equals);
        assertThat(policy.isLocal(InetAddress.getByName("::1"))).as("::1 on this host: " + v6).isEqualTo(v6);
    }
}
