package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * Which addresses are not the Internet's: an MX publishing one is graded by mxd check, and a TLS-RPT https rua naming
 * one is not posted to. The NAT64 prefix carries an IPv4 address and is judged by it; 0.0.0.0/8 and 198.18.0.0/15 were
 * taken for public.
 */
class AddressScopeTest {

    @Test
    void nonPublicAddressesAreNamedPublicOnesAreNot() throws Exception {
        for (String a : new String[] {"127.0.0.1", "::1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.1.1", "fe80::1",
                "fd00::1", "100.64.0.1", "0.1.2.3", "198.18.0.1", "198.19.255.255", "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1",
                "64:ff9b:1::1"}) {
            assertThat(AddressScope.nonPublic(InetAddress.getByName(a))).as(a).isPresent();
        }
        for (String a : new String[] {"192.0.2.1", "8.8.8.8", "198.20.0.1", "2001:db8::1", "64:ff9b::8.8.8.8", "2a00:1450::1"}) {
            assertThat(AddressScope.nonPublic(InetAddress.getByName(a))).as(a).isEmpty();
        }
        assertThat(AddressScope.nonPublic(InetAddress.getByName("64:ff9b::10.0.0.1"))).get().asString()
                .contains("RFC 1918").contains("NAT64");
    }
}
