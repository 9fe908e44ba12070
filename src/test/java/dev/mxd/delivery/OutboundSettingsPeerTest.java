package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15 point 5 against a real Postfix next hop (relaying on to an smtp-sink): the source
 * address the Postfix sees ({@code delivery.source-address}), a relay host written {@code [host]:port}
 * that wins over the recipient domain's MX (which points at an address where nothing listens), a
 * relay host resolved by MX through the test DNS server, per-destination routes (one domain and the
 * subdomains of another to Postfix, a backup domain to the local Maildir, the rest by MX), a bounce
 * that follows the routes, and a
 * relay host that is down: the mail is deferred, not bounced, and delivered once it is back.
 */
@PeerTest
class OutboundSettingsPeerTest {

    static final String POSTFIX = "127.0.0.91";
    static final String SINK = "127.0.0.92";
    static final String NOWHERE = "127.0.0.93"; // the MX of far.out.test: nothing listens there
    static final String LATE = "127.0.0.94"; // a relay host that comes up only after an outage
    static final String SOURCE = "127.0.0.7";

    static Path dir;
    static int port;
    static MxdDnsServer dns;
    static SmtpSink sink;
    static PostfixServer postfix;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-outbound");
        port = FreePort.tcpOn(POSTFIX, SINK, NOWHERE, LATE);
        Path zone = Files.writeString(dir.resolve("out.test.zone"), String.join("\n",
                "$ORIGIN out.test.", "$TTL 300",
                "@ IN SOA ns.out.test. hostmaster.out.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53",
                "far MX 10 mx-nowhere", "mx-nowhere IN A " + NOWHERE,
                "nullmx MX 0 .", "relay MX 10 mx-postfix", "bymx MX 10 mx-postfix", "mx-postfix IN A " + POSTFIX, "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        sink = SmtpSink.start(SINK, port);
        postfix = PostfixServer.start(POSTFIX + ":" + port, "far.out.test, bymx.out.test, .routed.out.test, late.out.test, client.test",
                "[" + SINK + "]:" + port);
    }

    @AfterAll
    static void stop() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        if (sink != null) {
            sink.close();
        }
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    /** An mxd asking the test DNS, sending on {@code port}, retrying only when flushed; {@code delivery} goes in delivery:. */
    static TestMx sender(String domains, String delivery) throws Exception {
        return TestMx.start(domains + "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 10s\n  command-timeout: 10s\n"
                + "  retry: {first: 10m, max: 10m, give-up: 1h}\n  scan-interval: 200ms\n" + delivery);
    }

    /** Waits (bounded) until Postfix has relayed mail for {@code rcpt} to the sink; returns its log. */
    static String awaitRelayedByPostfix(String rcpt) {
        Await.within(Duration.ofSeconds(30), () -> postfix.log().contains("to=<" + rcpt + ">, relay=" + SINK));
        String log = postfix.log();
        assertThat(log).as(log).contains("to=<" + rcpt + ">, relay=" + SINK + "[" + SINK + "]:" + port);
        return log;
    }

    static void awaitGone(TestMx mx, String id) {
        boolean gone = Await.within(Duration.ofSeconds(30), () -> mx.mx().spool().state(id).isEmpty());
        assertThat(gone).as("%s still queued: %s", id, mx.mx().spool().state(id)).isTrue();
    }

    /** The Postfix log line that names the client of the session in which {@code rcpt} was received. */
    static String clientOf(String log, String rcpt) {
        String queueId = log.lines().filter(l -> l.contains("to=<" + rcpt + ">")).findFirst().orElseThrow()
                .replaceAll(".*: ([0-9A-F]+): to=.*", "$1");
        return log.lines().filter(l -> l.contains(queueId + ": client=")).findFirst().orElseThrow();
    }

    @Test
    void relayHostInBracketsSkipsTheMxAndTheSourceAddressIsWhatPostfixSees() throws Exception {
        try (TestMx mx = sender("", "  source-address: " + SOURCE + "\n  relay-host: \"[" + POSTFIX + "]:" + port + "\"\n")) {
            String id = mx.sendTo("a1@far.out.test");
            String log = awaitRelayedByPostfix("a1@far.out.test");
            assertThat(clientOf(log, "a1@far.out.test")).contains("[" + SOURCE + "]");
            awaitGone(mx, id);
        }
    }

    @Test
    void withoutSourceAddressTheSystemChooses() throws Exception {
        try (TestMx mx = sender("", "  relay-host: \"[" + POSTFIX + "]:" + port + "\"\n")) {
            mx.sendTo("a2@far.out.test");
            assertThat(clientOf(awaitRelayedByPostfix("a2@far.out.test"), "a2@far.out.test")).contains("[127.0.0.1]");
        }
    }

    @Test
    void ipv6SourceAddressIsUsedForAnIpv6TargetAndTheIpv4OneIsNot() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(hasIpv6Loopback(), "::1 is not configured on lo; the IPv6 source address cannot be tested");
        int v6port = FreePort.tcpOn("::1");
        try (PostfixServer v6 = PostfixServer.start("[::1]:" + v6port, "far.out.test", "[" + SINK + "]:" + port,
                List.of("inet_protocols = all"));
             TestMx mx = sender("", "  source-address: [" + SOURCE + ", \"::1\"]\n  relay-host: \"[::1]:" + v6port + "\"\n")) {
            String id = mx.sendTo("a6@far.out.test");
            Await.within(Duration.ofSeconds(30), () -> v6.log().contains("to=<a6@far.out.test>, relay=" + SINK));
            String log = v6.log();
            assertThat(log).as(log).contains("to=<a6@far.out.test>, relay=" + SINK);
            assertThat(clientOf(log, "a6@far.out.test")).contains("[::1]");
            awaitGone(mx, id);
        }
    }

    private static boolean hasIpv6Loopback() {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.bind(new InetSocketAddress("::1", 0));
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * {@code [mx-postfix.out.test]}: that name's A record, no MX lookup (mx-postfix.out.test has no MX);
     * {@code relay.out.test}: its MX, which names Postfix. far.out.test's own MX leads nowhere.
     */
    @ParameterizedTest
    @CsvSource({"'[mx-postfix.out.test]', b2@far.out.test", "relay.out.test, c1@far.out.test"})
    void relayHostByNameIsResolvedAsWritten(String relayHost, String rcpt) throws Exception {
        try (TestMx mx = sender("", "  relay-host: \"" + relayHost + "\"\n")) {
            String id = mx.sendTo(rcpt);
            awaitRelayedByPostfix(rcpt);
            awaitGone(mx, id);
        }
    }

    @Test
    void routesSendOneDomainToPostfixAnotherToTheMaildirAndTheRestByMx() throws Exception {
        String domains = "  kept.test:\n    role: backup\n    mailboxes: [carol, postmaster]\n";
        String routes = "  routes:\n    far.out.test: \"[" + POSTFIX + "]:" + port + "\"\n"
                + "    .routed.out.test: \"[" + POSTFIX + "]:" + port + "\"\n    kept.test: local\n";
        try (TestMx mx = sender(domains, routes)) {
            String far = mx.sendTo("d1@far.out.test");
            String sub = mx.sendTo("d2@x.routed.out.test"); // no DNS at all: only the .routed.out.test route reaches it
            String byMx = mx.sendTo("d3@bymx.out.test");
            String kept = mx.sendTo("carol@kept.test");
            awaitRelayedByPostfix("d1@far.out.test");
            awaitRelayedByPostfix("d2@x.routed.out.test");
            awaitRelayedByPostfix("d3@bymx.out.test");
            Path carol = mx.mx().maildir("kept.test", "carol").resolve("new");
            Await.within(Duration.ofSeconds(30), () -> Files.isDirectory(carol) && Files.list(carol).count() == 1);
            assertThat(Files.list(carol).toList()).hasSize(1);
            for (String id : List.of(far, sub, byMx, kept)) {
                awaitGone(mx, id);
            }
            assertThat(postfix.log()).doesNotContain("carol@kept.test");
        }
    }

    @Test
    void aBounceToARemoteSenderFollowsTheRoutes() throws Exception {
        // client.test, the sender's domain, has no DNS at all: only its route can carry the bounce.
        try (TestMx mx = sender("", "  routes:\n    client.test: \"[" + POSTFIX + "]:" + port + "\"\n")) {
            String id = mx.sendTo("f1@nullmx.out.test"); // null MX: fails at once, and mxd writes a bounce
            awaitGone(mx, id);
            awaitRelayedByPostfix("sender@client.test");
        }
    }

    @Test
    void aRelayHostThatIsDownDefersAndDeliversWhenItIsBack() throws Exception {
        try (TestMx mx = sender("", "  relay-host: \"[" + LATE + "]:" + port + "\"\n")) {
            String id = mx.sendTo("e1@late.out.test");
            mx.awaitDeferred(id);
            assertThat(mx.mx().spool().state(id)).contains(QueueState.DEFERRED);
            assertThat(mx.mx().hostStatus().status(new MxRoute(LATE, 0, java.net.InetAddress.getByName(LATE), port)))
                    .as("the relay's address is in the host status table").isPresent();
            try (PostfixServer late = PostfixServer.start(LATE + ":" + port, "late.out.test", "[" + SINK + "]:" + port)) {
                mx.mx().queue().flush();
                Await.within(Duration.ofSeconds(30), () -> late.log().contains("to=<e1@late.out.test>, relay=" + SINK));
                assertThat(late.log()).contains("to=<e1@late.out.test>, relay=" + SINK);
                awaitGone(mx, id);
            }
        }
    }
}
