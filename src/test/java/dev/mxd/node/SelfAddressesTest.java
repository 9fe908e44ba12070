package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.HostPort;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which addresses are this server for the MX loop check: its listeners on the port it delivers to. */
class SelfAddressesTest {

    @Test
    void aListenerOnTheDeliveryPortIsThisHostAndOneOnAnotherPortIsNot() throws Exception {
        List<HostPort> listeners = List.of(HostPort.parse("127.0.0.5:2525"), HostPort.parse("127.0.0.6:587"));
        assertThat(ReceivingMx.selfAddresses(listeners, 2525)).containsExactly(InetAddress.getByName("127.0.0.5"));
        assertThat(ReceivingMx.selfAddresses(listeners, 25)).as("a server on port 25 there is another one").isEmpty();
    }

    @Test
    void aWildcardListenerMakesEveryAddressOfThisHostItsOwn() throws Exception {
        assertThat(ReceivingMx.selfAddresses(List.of(HostPort.parse("0.0.0.0:25")), 25))
                .contains(InetAddress.getByName("127.0.0.1"))
                .allSatisfy(a -> assertThat(a.isAnyLocalAddress()).isFalse());
    }
}
