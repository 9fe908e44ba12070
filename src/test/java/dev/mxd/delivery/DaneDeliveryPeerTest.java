package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.DaneZone;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.ServfailSwitch;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DANE for SMTP (RFC 7672) end to end: real Knot serves {@code dane.test} signed ({@link DaneZone}) with
 * TLSA records made from a private CA's certificates; the better MX of each case is a real Postfix smtpd
 * presenting a certificate for {@code mx-ta.dane.test} issued by that CA (Postfix relays what it takes to an
 * smtp-sink); the second MX of one case is a plain smtp-sink on 127.0.0.2. mxd validates from the zone's
 * anchor. Each case has its own domain and MX host and runs in its own mxd, so no cached connection or host
 * status carries over from one case to the next.
 */
@PeerTest
class DaneDeliveryPeerTest {

    private static DaneZone zone;
    private static ServfailSwitch dns;
    private static PostfixServer postfix;
    private static SmtpSink behindPostfix;
    private static SmtpSink backup;
    private static Path postfixDumps;
    private static Path backupDumps;
    private static Path anchor;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        zone = DaneZone.start();
        anchor = zone.anchor();
        dns = new ServfailSwitch(new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1")), zone.knot().address());

        port = FreePort.tcpOn("127.0.0.1");
        postfixDumps = TestDirs.forSmtpSink("mxd-dane-postfix-sink");
        backupDumps = TestDirs.forSmtpSink("mxd-dane-backup-sink");
        int sinkPort = FreePort.tcpOn("127.0.0.1");
        behindPostfix = SmtpSink.start("127.0.0.1", sinkPort, "-d", postfixDumps + "/%M.");
        backup = SmtpSink.start("127.0.0.2", port, "-d", backupDumps + "/%M.");
        postfix = PostfixServer.start("127.0.0.1:" + port,
                "ee.dane.test, ta.dane.test, taname.dane.test, wrong.dane.test, none.dane.test, fail.dane.test, alias.dane.test",
                "[127.0.0.1]:" + sinkPort,
                List.of("smtpd_tls_cert_file = " + zone.chain(), "smtpd_tls_key_file = " + zone.key(),
                        "smtpd_tls_loglevel = 1"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        for (SmtpSink s : new SmtpSink[] {behindPostfix, backup}) {
            if (s != null) {
                s.close();
            }
        }
        if (dns != null) {
            dns.close();
        }
        if (zone != null) {
            zone.close();
        }
        TestDirs.deleteTree(postfixDumps);
        TestDirs.deleteTree(backupDumps);
    }

    private static TestMx sender() throws Exception {
        return TestMx.start("dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n  dnssec: validate\n"
                + "  trust-anchors: [\"" + anchor + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 2s\n  command-timeout: 5s\n"
                + "  retry: {first: 1h, max: 2h, give-up: 1d}\n  scan-interval: 200ms\n");
    }

    private static void awaitIn(Path dumps, String marker) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> SinkDump.countWith(dumps, marker) == 1);
    }

    /** The one deferred message's first recipient, once the first attempt has deferred it. */
    private static dev.mxd.queue.RecipientStatus awaitDeferred(TestMx mx) throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> !mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
        String id = mx.mx().spool().ids(QueueState.DEFERRED).get(0);
        Envelope e = mx.mx().spool().envelope(QueueState.DEFERRED, id);
        assertThat(e.recipients().get(0).state()).isEqualTo(DeliveryState.DEFERRED);
        return e.recipients().get(0);
    }

    @Test
    void aMatchingDaneEeRecordDeliversOverAuthenticatedTls() throws Exception {
        try (LogCapture log = LogCapture.start(Level.INFO); TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@ee.dane.test");
            awaitIn(postfixDumps, marker);
            assertThat(log.lines()).anyMatch(l -> l.contains("mx-ee.dane.test: TLS authenticated by DANE: DANE-EE(3) SPKI SHA2-256"));
            assertThat(postfix.log()).contains("Anonymous TLS connection established from").doesNotContain("warning: TLS library problem");
        }
    }

    @Test
    void aDaneTaRecordWithTheRightNameDelivers() throws Exception {
        try (LogCapture log = LogCapture.start(Level.INFO); TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@ta.dane.test");
            awaitIn(postfixDumps, marker);
            assertThat(log.lines()).anyMatch(l -> l.contains("mx-ta.dane.test: TLS authenticated by DANE: DANE-TA(2) Cert SHA2-256"));
        }
    }

    @Test
    void aDaneTaLeafForAnotherNameDefersThatHostAndTheNextMxTakesTheMail() throws Exception {
        try (LogCapture log = LogCapture.start(Level.INFO); TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@taname.dane.test");
            awaitIn(backupDumps, marker);
            assertThat(SinkDump.countWith(postfixDumps, marker)).as("not through the host whose name did not match").isZero();
            assertThat(log.lines()).anyMatch(l -> l.contains("mx-taname.dane.test") && l.contains("not authenticated by DANE"));
        }
    }

    @Test
    void aWrongDigestDefersWithCryptographicFailureAndNeverSendsInPlainText() throws Exception {
        try (TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "wrong-digest@example.test", "user@wrong.dane.test");
            dev.mxd.queue.RecipientStatus r = awaitDeferred(mx);
            assertThat(r.status()).hasValueSatisfying(st -> assertThat(st.toString()).isEqualTo("4.7.5"));
            assertThat(r.detail()).contains("DANE");
            assertThat(SinkDump.countWith(postfixDumps, marker)).isZero();
            assertThat(postfix.log()).as("Postfix took no message from this sender").doesNotContain("from=<wrong-digest@example.test>");
            assertThat(mx.delivered("alice")).as("deferred, not bounced").isEmpty();
        }
    }

    @Test
    void noTlsaRecordsDeliverOpportunistically() throws Exception {
        try (LogCapture log = LogCapture.start(Level.INFO); TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@none.dane.test");
            awaitIn(postfixDumps, marker);
            assertThat(log.lines()).noneMatch(l -> l.contains("mx-none.dane.test: TLS authenticated by DANE"));
        }
    }

    @Test
    void aFailedTlsaLookupOnTheSecureZoneDefersAndNeverDowngrades() throws Exception {
        dns.fail("_25._tcp.mx-fail.dane.test");
        try (TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "tlsa-servfail@example.test", "user@fail.dane.test");
            dev.mxd.queue.RecipientStatus r = awaitDeferred(mx);
            assertThat(r.status()).hasValueSatisfying(st -> assertThat(st.toString()).startsWith("4."));
            assertThat(r.detail()).contains("TLSA");
            assertThat(SinkDump.countWith(postfixDumps, marker)).isZero();
            assertThat(postfix.log()).doesNotContain("from=<tlsa-servfail@example.test>");
        } finally {
            dns.heal();
        }
    }

    @Test
    void aSecureAliasIsAuthenticatedByTheTlsaRecordsOfItsTarget() throws Exception {
        // RFC 7672 §2.2.2: mx-alias is a CNAME for mx-ta; the TLSA base domain is mx-ta, which the certificate names.
        try (LogCapture log = LogCapture.start(Level.INFO); TestMx mx = sender()) {
            String marker = MxDeliveryPeerTest.submit(mx.smtp(), "alice@example.test", "user@alias.dane.test");
            awaitIn(postfixDumps, marker);
            assertThat(log.lines()).anyMatch(l -> l.contains("mx-alias.dane.test: TLS authenticated by DANE: DANE-TA(2)"));
        }
    }
}
