package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15 point 5: {@code delivery.source-address}, {@code delivery.relay-host} and
 * {@code delivery.routes} as the file writes them, and the mistakes in them reported with the line.
 */
class OutboundConfigTest {

    private static MxdConfig load(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, Path.of("mxd.yaml"));
    }

    @Test
    void sourceAddressIsOneAddressOrOnePerFamily() throws Exception {
        assertThat(load("delivery:\n  source-address: 127.0.0.7\n").delivery().sourceAddresses())
                .containsExactly(InetAddress.getByName("127.0.0.7"));
        assertThat(load("delivery:\n  source-address: [127.0.0.7, \"::1\"]\n").delivery().sourceAddresses())
                .containsExactly(InetAddress.getByName("127.0.0.7"), InetAddress.getByName("::1"));
        assertThat(load("hostname: mx.test\n").delivery().sourceAddresses()).isEmpty();
    }

    @Test
    void anInvalidSourceAddressNamesItsLine() {
        ConfigException e = ConfigLoaderTest.error("hostname: mx.test\ndelivery:\n  port: 25\n  source-address: mx.example.test\n");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).startsWith("mxd.yaml:4: delivery.source-address: ").contains("is not an IP address");
    }

    @Test
    void twoSourceAddressesOfOneFamilyAreAnError() {
        ConfigException e = ConfigLoaderTest.error("delivery:\n  source-address: [127.0.0.7, 127.0.0.8]\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("more than one address of a family");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "'[127.0.0.1]:2525' | 127.0.0.1        | false | 2525",
            "'[relay.example.test]' | relay.example.test | false | -1",
            "'[IPv6:::1]:25'    | 0:0:0:0:0:0:0:1  | false | 25",
            "'[::1]'            | 0:0:0:0:0:0:0:1  | false | -1",
            "relay.example.test | relay.example.test | true | -1",
            "Relay.Example.Test:587 | relay.example.test | true | 587",
    })
    void relayHostGrammar(String text, String host, boolean mx, int port) {
        RelayHost r = RelayHost.parse(text);
        assertThat(r.host()).isEqualTo(host);
        assertThat(r.mxLookup()).isEqualTo(mx);
        assertThat(r.port()).isEqualTo(port < 0 ? OptionalInt.empty() : OptionalInt.of(port));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "127.0.0.1:25   | has no MX records; write it in brackets: [127.0.0.1]:25",
            "'[127.0.0.1'   | missing ']'",
            "'[relay.test]:x' | port 'x' is not a number",
            "'relay_host.test' | is not a host name",
            "'::1'          | an IPv6 address goes in brackets: [::1] or [::1]:25",
            "'::1:41025'    | an IPv6 address goes in brackets: [::1]:41025",
    })
    void relayHostMistakesSayHowToWriteIt(String text, String message) {
        ConfigException e = ConfigLoaderTest.error("hostname: mx.test\ndelivery:\n  relay-host: \"" + text + "\"\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).startsWith("mxd.yaml:3: delivery.relay-host ").contains(message);
    }

    @Test
    void routesMatchTheDomainExactlyAndSubdomainsByTheirDottedParent() throws Exception {
        MxdConfig c = load("""
                domains:
                  backup.test: {role: backup, mailboxes: [bob, postmaster]}
                delivery:
                  relay-host: smarthost.test
                  routes:
                    example.org: "[127.0.0.1]:2526"
                    .example.org: "[127.0.0.2]"
                    .deep.example.org: relay.test:587
                    Backup.Test: local
                """);
        Delivery d = c.delivery();
        assertThat(d.nextHopFor("example.org")).contains(RelayHost.parse("[127.0.0.1]:2526"));
        assertThat(d.nextHopFor("a.example.org")).contains(RelayHost.parse("[127.0.0.2]"));
        assertThat(d.nextHopFor("x.deep.example.org")).contains(RelayHost.parse("relay.test:587"));
        assertThat(d.nextHopFor("deep.example.org")).contains(RelayHost.parse("[127.0.0.2]"));
        assertThat(d.nextHopFor("notexample.org")).contains(RelayHost.parse("smarthost.test"));
        assertThat(d.nextHopFor("other.test")).contains(RelayHost.parse("smarthost.test"));
        assertThat(d.routeFor("backup.test")).contains(new RouteOverride.Local());
        assertThat(d.nextHopFor("backup.test")).isEmpty();
        assertThat(load("hostname: mx.test\n").delivery().nextHopFor("example.org")).isEqualTo(Optional.empty());
    }

    @Test
    void aLocalRouteNeedsAConfiguredDomainWithMailboxes() {
        ConfigException notHere = ConfigLoaderTest.error("delivery:\n  routes:\n    elsewhere.test: local\n");
        assertThat(notHere.line()).isEqualTo(3);
        assertThat(notHere.getMessage()).contains("elsewhere.test is not in domains:");
        ConfigException noBoxes = ConfigLoaderTest.error("domains:\n  b.test: {role: backup}\ndelivery:\n  routes:\n    b.test: local\n");
        assertThat(noBoxes.line()).isEqualTo(5);
        assertThat(noBoxes.getMessage()).contains("lists no mailboxes");
        ConfigException noPostmaster = ConfigLoaderTest.error("domains:\n  b.test: {role: backup, mailboxes: [bob]}\ndelivery:\n"
                + "  routes:\n    b.test: local\n");
        assertThat(noPostmaster.line()).isEqualTo(5);
        assertThat(noPostmaster.getMessage()).contains("no mailbox, alias or catch-all for postmaster");
        ConfigException dotted = ConfigLoaderTest.error("delivery:\n  routes:\n    .b.test: local\n");
        assertThat(dotted.getMessage()).contains("local is only for a domain listed in domains:");
    }

    @Test
    void aRelayRouteForALocalDomainIsAnError() {
        ConfigException e = ConfigLoaderTest.error("domains:\n  l.test: {role: local, mailboxes: [a, postmaster]}\ndelivery:\n  routes:\n"
                + "    l.test: \"[127.0.0.1]\"\n");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.getMessage()).contains("l.test is a local domain");
    }

    @Test
    void aBadRouteValueNamesItsKeysLine() {
        ConfigException e = ConfigLoaderTest.error("delivery:\n  routes:\n    a.test: \"[127.0.0.1]:2525\"\n    b.test: \"[nope\"\n");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).contains("delivery.routes.b.test: ").contains("missing ']'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "'  relay-host: \"[127.0.0.1]:2525\"'                 | 127.0.0.1:2525 | delivery.relay-host",
            "'  relay-host: \"[127.0.0.9]:2525\"'                 | 0.0.0.0:2525   | delivery.relay-host",
            "'  routes:\n    far.test: \"[127.0.0.1]:2525\"'     | 127.0.0.1:2525 | delivery.routes.far.test",
            "'  port: 2525\n  relay-host: \"[127.0.0.1]\"'       | 127.0.0.1:2525 | delivery.relay-host",
    })
    void aRelayThatIsThisNodesOwnListenerIsRefused(String delivery, String listener, String key) {
        ConfigException e = ConfigLoaderTest.error("hostname: mx.test\nlisten:\n  smtp: [\"" + listener + "\"]\n"
                + "delivery:\n" + delivery.replace("\\n", "\n") + "\n");
        assertThat(e.getMessage()).contains(key + ": [127.0.0.").contains("is this node's own SMTP listener").contains("loop back");
    }

    @Test
    void aRelayOnAnotherPortOrAddressIsNotThisNode() throws Exception {
        assertThat(load("listen:\n  smtp: [\"127.0.0.1:2525\"]\ndelivery:\n  relay-host: \"[127.0.0.1]:2526\"\n")
                .delivery().relayHost()).isPresent();
        assertThat(load("listen:\n  smtp: [\"127.0.0.1:2525\"]\ndelivery:\n  relay-host: \"[127.0.0.2]:2525\"\n")
                .delivery().relayHost()).isPresent();
    }
}
