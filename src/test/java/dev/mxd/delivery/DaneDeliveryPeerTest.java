package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.ServfailSwitch;
import dev.mxd.testing.SignedZones;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DANE for SMTP (RFC 7672) end to end: real Knot serves {@code dane.test} signed (automatic signing) with
 * TLSA records made from a private CA's certificates; the better MX of each case is a real Postfix smtpd
 * presenting a certificate for {@code mx-ta.dane.test} issued by that CA (Postfix relays what it takes to an
 * smtp-sink); the second MX of one case is a plain smtp-sink on 127.0.0.2. mxd validates from the zone's
 * anchor. Each case has its own domain and MX host and runs in its own mxd, so no cached connection or host
 * status carries over from one case to the next.
 */
@PeerTest
class DaneDeliveryPeerTest {

    private static Path dir;
    private static KnotServer knot;
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
        dir = Files.createTempDirectory("mxd-dane");
        Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mxd DANE test CA");
        Certificates.issued(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mx-ta.dane.test", dir.resolve("leaf.pem"), dir.resolve("leaf.key"));
        Files.writeString(dir.resolve("chain.pem"), Files.readString(dir.resolve("leaf.pem")) + Files.readString(dir.resolve("ca.pem")));
        String ee = hex(digest(read(dir.resolve("leaf.pem")).getPublicKey().getEncoded()));
        String ta = hex(digest(read(dir.resolve("ca.pem")).getEncoded()));
        byte[] wrongDigest = digest(read(dir.resolve("leaf.pem")).getPublicKey().getEncoded());
        wrongDigest[0] ^= 1;
        String wrong = hex(wrongDigest);
        Path zone = dir.resolve("dane.test.zone");
        Files.writeString(zone, String.join("\n",
                "$ORIGIN dane.test.",
                "$TTL 300",
                "@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 300",
                "@ IN NS ns",
                "ns IN A 127.0.0.1",
                "ee IN MX 10 mx-ee",
                "mx-ee IN A 127.0.0.1",
                "_25._tcp.mx-ee IN TLSA 3 1 1 " + ee,
                "ta IN MX 10 mx-ta",
                "mx-ta IN A 127.0.0.1",
                "_25._tcp.mx-ta IN TLSA 2 0 1 " + ta,
                "taname IN MX 10 mx-taname",
                "taname IN MX 20 backup",
                "mx-taname IN A 127.0.0.1",
                "_25._tcp.mx-taname IN TLSA 2 0 1 " + ta,
                "backup IN A 127.0.0.2",
                "wrong IN MX 10 mx-wrong",
                "mx-wrong IN A 127.0.0.1",
                "_25._tcp.mx-wrong IN TLSA 3 1 1 " + wrong,
                "none IN MX 10 mx-none",
                "mx-none IN A 127.0.0.1",
                "fail IN MX 10 mx-fail",
                "mx-fail IN A 127.0.0.1",
                "_25._tcp.mx-fail IN TLSA 3 1 1 " + ee,
                ""));
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put("dane.test", zone);
        knot = KnotServer.start(zones, Set.of("dane.test"));
        KnotServer k = knot;
        if (!Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> SignedZones.keySigningKeys(k, "dane.test"), keys -> !keys.isEmpty()).isEmpty()) {
            anchor = dir.resolve("dane.anchor");
            Files.writeString(anchor, String.join("\n", SignedZones.keySigningKeys(knot, "dane.test")) + "\n");
        }
        dns = new ServfailSwitch(new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1")), knot.address());

        port = FreePort.tcpOn("127.0.0.1");
        postfixDumps = TestDirs.forSmtpSink("mxd-dane-postfix-sink");
        backupDumps = TestDirs.forSmtpSink("mxd-dane-backup-sink");
        int sinkPort = FreePort.tcpOn("127.0.0.1");
        behindPostfix = SmtpSink.start("127.0.0.1", sinkPort, "-d", postfixDumps + "/%M.");
        backup = SmtpSink.start("127.0.0.2", port, "-d", backupDumps + "/%M.");
        postfix = PostfixServer.start("127.0.0.1:" + port,
                "ee.dane.test, ta.dane.test, taname.dane.test, wrong.dane.test, none.dane.test, fail.dane.test",
                "[127.0.0.1]:" + sinkPort,
                List.of("smtpd_tls_cert_file = " + dir.resolve("chain.pem"), "smtpd_tls_key_file = " + dir.resolve("leaf.key"),
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
        if (knot != null) {
            knot.close();
        }
        TestDirs.deleteTree(postfixDumps);
        TestDirs.deleteTree(backupDumps);
        TestDirs.deleteTree(dir);
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static byte[] digest(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
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
}
