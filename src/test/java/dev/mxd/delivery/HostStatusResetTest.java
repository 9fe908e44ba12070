package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.time.InstantSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code mxd queue hosts --reset HOST}: which written forms of a host name or address forget which failures. */
class HostStatusResetTest {

    HostStatusTable table;
    MxRoute v4;
    MxRoute v6;
    MxRoute otherPort;

    @BeforeEach
    void failures() throws Exception {
        table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofHours(1), 100, InstantSource.system());
        v4 = new MxRoute("MX1.Example.COM.", 10, InetAddress.getByName("192.0.2.1"), 25);
        v6 = new MxRoute("mx1.example.com", 10, InetAddress.getByName("2001:db8::1"), 25);
        otherPort = new MxRoute("mx2.example.com", 20, InetAddress.getByName("192.0.2.2"), 2525);
        table.failed(v4, "refused");
        table.failed(v6, "refused");
        table.failed(otherPort, "timeout");
    }

    @Test
    void aHostNameForgetsEachOfItsAddressesInAnyCaseWithOrWithoutTheDot() {
        assertThat(table.forget("mx1.EXAMPLE.com.")).extracting(HostStatusTable.Status::address)
                .containsExactlyInAnyOrder(v4.socketAddress(), v6.socketAddress());
        assertThat(table.snapshot()).extracting(HostStatusTable.Status::host).containsExactly("mx2.example.com");
    }

    @Test
    void anAddressInAnySpellingForgetsOnlyThatAddress() {
        assertThat(table.forget("2001:DB8:0:0:0:0:0:1")).singleElement().extracting(HostStatusTable.Status::address)
                .isEqualTo(v6.socketAddress());
        assertThat(table.forget("192.0.2.1:25")).hasSize(1);
        assertThat(table.forget("[192.0.2.2]:2525")).hasSize(1);
        assertThat(table.snapshot()).isEmpty();
    }

    @Test
    void theFormsTheHostsListingPrintsAndBracketedIpv6() {
        assertThat(table.forget("mx2.example.com[192.0.2.2]:2525")).hasSize(1);
        assertThat(table.forget("[2001:db8::1]:25")).hasSize(1);
        assertThat(table.forget("mx1.example.com.[192.0.2.1]:25")).hasSize(1);
        assertThat(table.snapshot()).isEmpty();
    }

    /** An IPv6 address in any spelling with its port or its host's name, as the docs promise; only the canonical one was matched. */
    @Test
    void anIpv6AddressInAnySpellingWithItsPortOrName() throws Exception {
        assertThat(table.forget("[2001:db8:0::1]:26")).as("another port").isEmpty();
        assertThat(table.forget("mx9.example.com[2001:db8:0::1]:25")).as("another host's name").isEmpty();
        assertThat(table.forget("[2001:0db8:0:0:0:0:0:1]:25")).hasSize(1);
        failures();
        assertThat(table.forget("mx1.example.com[2001:DB8::0:1]:25")).hasSize(1);
        failures();
        assertThat(table.forget("[2001:db8:0:0::1]")).hasSize(1);
    }

    @Test
    void whatNamesNoFailedHostForgetsNothing() {
        assertThat(table.forget("mx3.example.com")).isEmpty();
        assertThat(table.forget("192.0.2.1:26")).isEmpty();
        assertThat(table.forget("2001:db8::zz")).isEmpty();
        assertThat(table.forget("example.com")).isEmpty();
        assertThat(table.snapshot()).hasSize(3);
        assertThat(table.forgetAll()).hasSize(3);
        assertThat(table.snapshot()).isEmpty();
    }
}
