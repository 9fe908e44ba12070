package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SignedZones;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Delivery with {@code dns.dnssec: validate} against real Knot ({@link SignedZones}) and a real next hop
 * (Postfix's smtp-sink): mail for the signed zone and for the unsigned one is delivered; mail for the zone
 * whose signatures are bogus is deferred with a 4.x status, never bounced and never sent unvalidated.
 */
@PeerTest
class DnssecDeliveryPeerTest {

    private static SignedZones zones;
    private static SmtpSink sink;
    private static Path dumps;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        zones = SignedZones.start();
        port = FreePort.tcpOn("127.0.0.1");
        dumps = TestDirs.forSmtpSink("mxd-dnssec-sink");
        sink = SmtpSink.start("127.0.0.1", port, "-d", dumps + "/%M.");
    }

    @AfterAll
    static void stop() {
        if (sink != null) {
            sink.close();
        }
        if (zones != null) {
            zones.close();
        }
        TestDirs.deleteTree(dumps);
    }

    private static TestMx sender(String mode) throws Exception {
        return TestMx.startWithAdmin("dns:\n  servers: [\"" + zones.server() + "\"]\n  dnssec: " + mode + "\n"
                + "  trust-anchors: [\"" + zones.anchors() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 1s\n  greeting-timeout: 1s\n  command-timeout: 2s\n"
                + "  retry: {first: 1s, max: 2s, give-up: 1h}\n  scan-interval: 200ms\n");
    }

    private static void awaitAtSink(String marker) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> SinkDump.countWith(dumps, marker) == 1);
    }

    @Test
    void secureAndInsecureDomainsAreDeliveredAndABogusOneIsDeferred() throws Exception {
        try (TestMx mx = sender("validate")) {
            awaitAtSink(MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@secure.test"));
            awaitAtSink(MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@plain.test"));

            String bogus = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@broken.test");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
            String id = mx.mx().spool().ids(QueueState.DEFERRED).get(0);
            Envelope e = mx.mx().spool().envelope(QueueState.DEFERRED, id);
            assertThat(e.recipients().get(0).state()).isEqualTo(DeliveryState.DEFERRED);
            assertThat(e.recipients().get(0).detail()).contains("bogus");
            assertThat(e.recipients().get(0).status()).hasValueSatisfying(st -> assertThat(st.toString()).startsWith("4."));
            assertThat(SinkDump.countWith(dumps, bogus)).as("never delivered unvalidated").isZero();
            assertThat(mx.delivered("alice")).as("no bounce for a bogus answer").isEmpty();
        }
    }

    @Test
    void autoWithAnchorsTheServerCannotValidateWorksAsOff() throws Exception {
        // broken.test's keys are among the anchors and their signatures expired: auto decides "off" at start,
        // so the broken zone is delivered as it would be without DNSSEC (the operator is told in the log).
        try (TestMx mx = sender("auto")) {
            awaitAtSink(MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@broken.test"));
            JsonNode dnssec = new AdminHttp(mx).get("/health").json().get("checks").get("dnssec");
            assertThat(dnssec.get("validating").asBoolean()).isFalse();
            assertThat(dnssec.get("ok").asBoolean()).as("informational, never failing").isTrue();
            assertThat(dnssec.get("detail").asText()).contains("off", "broken.test");
        }
    }

    @Test
    void healthSaysValidationIsOnInValidate() throws Exception {
        try (TestMx mx = sender("validate")) {
            JsonNode dnssec = new AdminHttp(mx).get("/health").json().get("checks").get("dnssec");
            assertThat(dnssec.get("validating").asBoolean()).isTrue();
            assertThat(dnssec.get("detail").asText()).contains("validate");
        }
    }
}
