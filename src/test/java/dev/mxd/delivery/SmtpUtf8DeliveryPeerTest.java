package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Mail received with SMTPUTF8 and relayed by MX (issue 13 case 6) to a real Postfix smtpd with
 * {@code smtputf8_enable = no} (relaying on to an smtp-sink that dumps what arrives), to a Postfix
 * that offers SMTPUTF8 (relaying on to a scripted server that offers it too), and to a Postfix with
 * {@code smtpd_recipient_limit = 1}, which answers 452 4.5.3 to every RCPT after the first.
 * The sender, alice@example.test, is local to the sending mxd: its DSNs land in her Maildir.
 * Retries are ten minutes away, so whatever is not settled at the first attempt shows.
 */
@PeerTest
class SmtpUtf8DeliveryPeerTest {

    static final String NO_UTF8 = "127.0.0.81";
    static final String EAI = "127.0.0.82";
    static final String SINK = "127.0.0.83";
    static final String EAI_SINK = "127.0.0.84";
    static final String FEW = "127.0.0.85";

    static Path dir;
    static int port;
    static MxdDnsServer dns;
    static FakeSmtpServer eaiSink;
    static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-smtputf8");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // smtp-sink dumps as nobody
        port = FreePort.tcpOn(NO_UTF8, EAI, SINK, EAI_SINK, FEW);
        Path zone = Files.writeString(dir.resolve("utf8.test.zone"), String.join("\n",
                "$ORIGIN utf8.test.", "$TTL 300",
                "@ IN SOA ns.utf8.test. hostmaster.utf8.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53",
                "plain MX 10 mx-plain", "xn--bcher-kva MX 10 mx-plain", "eai MX 10 mx-eai", "few MX 10 mx-few",
                "mx-plain IN A " + NO_UTF8, "mx-eai IN A " + EAI, "mx-few IN A " + FEW, "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        peers.add(SmtpSink.start(SINK, port, "-d", dir.resolve("dumps") + "/%M."));
        eaiSink = FakeSmtpServer.startOn(new InetSocketAddress(EAI_SINK, port), 32, "220 eai-sink.test ESMTP",
                List.of("PIPELINING", "8BITMIME", "SMTPUTF8"), line -> null);
        peers.add(eaiSink);
        peers.add(PostfixServer.start(NO_UTF8 + ":" + port, "plain.utf8.test, xn--bcher-kva.utf8.test",
                "[" + SINK + "]:" + port, List.of("smtputf8_enable = no")));
        peers.add(PostfixServer.start(EAI + ":" + port, "eai.utf8.test", "[" + EAI_SINK + "]:" + port));
        peers.add(PostfixServer.start(FEW + ":" + port, "few.utf8.test", "[" + SINK + "]:" + port,
                List.of("smtpd_recipient_limit = 1")));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    static TestMx sender() throws Exception {
        return TestMx.start("dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 5s\n  command-timeout: 5s\n"
                + "  retry: {first: 10m, max: 10m, give-up: 1h}\n  scan-interval: 200ms\n");
    }

    /** Hands a message to mxd with MAIL FROM:<alice@example.test> SMTPUTF8, as an EAI client would. */
    static void submit(TestMx mx, String headers, String... rcpts) throws IOException {
        submitAs(mx, "client.test", headers, rcpts);
    }

    /** As {@link #submit}, the client saying EHLO {@code helo}. */
    static void submitAs(TestMx mx, String helo, String headers, String... rcpts) throws IOException {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send(("EHLO " + helo + "\r\n").getBytes(StandardCharsets.UTF_8));
            assertThat(c.reply()).contains("SMTPUTF8");
            c.send("MAIL FROM:<alice@example.test> BODY=8BITMIME SMTPUTF8\r\n");
            assertThat(c.code()).isEqualTo(250);
            for (String r : rcpts) {
                c.send("RCPT TO:<" + r + ">\r\n");
                assertThat(c.reply()).as("RCPT %s", r).startsWith("250");
            }
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send(headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                    + "Content-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe: an 8-bit body needs 8BITMIME, not SMTPUTF8\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 ");
            c.send("QUIT\r\n");
        }
    }

    static String asciiHeaders(String marker) {
        return "From: alice@example.test\r\nTo: undisclosed-recipients:;\r\nSubject: " + marker + "\r\n";
    }

    /** The sink's dumps of messages with {@code marker} in them. */
    static List<SinkDump> dumpsWith(String marker) throws IOException, InterruptedException {
        List<SinkDump> found = new ArrayList<>();
        for (SinkDump d : SinkDump.await(dir.resolve("dumps"), 0)) {
            if (new String(d.message(), StandardCharsets.UTF_8).contains(marker)) {
                found.add(d);
            }
        }
        return found;
    }

    static List<String> rcptArgs(List<SinkDump> dumps) {
        return dumps.stream().flatMap(d -> d.record("X-Rcpt-Args").stream()).toList();
    }

    static void awaitQueueEmpty(TestMx mx) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
                mx.mx().spool().ids(QueueState.INCOMING).isEmpty() && mx.mx().spool().ids(QueueState.ACTIVE).isEmpty()
                        && mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
    }

    /** The one DSN in alice's Maildir. */
    static String bounce(TestMx mx) throws Exception {
        List<Path> box = mx.awaitDelivered("alice", 1, Duration.ofSeconds(30));
        assertThat(box).as("one DSN in the sender's Maildir").hasSize(1);
        return Files.readString(box.get(0), StandardCharsets.UTF_8);
    }

    @Test
    void anAsciiMessageReceivedWithSmtputf8IsDeliveredToANextHopWithoutIt() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submit(mx, asciiHeaders(marker), "x@plain.utf8.test", "y@plain.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> rcptArgs(dumpsWith(marker)).size() == 2);
            assertThat(String.join(" ", rcptArgs(dumpsWith(marker)))).contains("x@plain.utf8.test", "y@plain.utf8.test");
            awaitQueueEmpty(mx);
            assertThat(mx.delivered("alice")).as("no DSN").isEmpty();
        }
    }

    /**
     * A client that says EHLO with a UTF-8 name: mxd's Received field names it in A-labels, so the
     * all-ASCII message still goes to the next hop without SMTPUTF8 rather than failing 5.6.7 for
     * every recipient, and no 8-bit header octet reaches that hop.
     */
    @Test
    void aUtf8EhloNameDoesNotMakeAnAsciiMessageNeedSmtputf8() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submitAs(mx, "b\u00fccher.example", asciiHeaders(marker), "x@plain.utf8.test", "y@plain.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> rcptArgs(dumpsWith(marker)).size() == 2);
            String arrived = new String(dumpsWith(marker).get(0).message(), StandardCharsets.UTF_8);
            assertThat(arrived).contains("Received: from xn--bcher-kva.example ([127.0.0.1])").doesNotContain("b\u00fccher");
            awaitQueueEmpty(mx);
            assertThat(mx.delivered("alice")).as("no DSN").isEmpty();
        }
    }

    @Test
    void onlyTheNonAsciiRecipientFailsWithADsnAndItsCoRecipientIsDelivered() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submit(mx, asciiHeaders(marker), "\u7528\u6237@plain.utf8.test", "x@plain.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> !dumpsWith(marker).isEmpty());
            String dsn = bounce(mx);
            assertThat(dsn).contains("Status: 5.6.7").contains("\u7528\u6237@plain.utf8.test").contains(marker);
            assertThat(dsn).doesNotContain("Final-Recipient: rfc822; x@plain.utf8.test");
            awaitQueueEmpty(mx);
            assertThat(rcptArgs(dumpsWith(marker))).singleElement().asString().contains("x@plain.utf8.test");
        }
    }

    @Test
    void aNonAsciiHeaderFailsEveryRecipientWith567() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submit(mx, "From: alice@example.test\r\nTo: undisclosed-recipients:;\r\nSubject: Gr\u00fc\u00dfe " + marker + "\r\n",
                    "x@plain.utf8.test", "y@plain.utf8.test");
            String dsn = bounce(mx);
            assertThat(dsn).contains("Status: 5.6.7").contains("x@plain.utf8.test").contains("y@plain.utf8.test")
                    .contains("Subject header field");
            awaitQueueEmpty(mx);
            assertThat(dumpsWith(marker)).as("nothing reached the next hop").isEmpty();
        }
    }

    @Test
    void anIdnDomainGoesInALabelsToANextHopWithoutSmtputf8() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            // One recipient: mxd's Received header names it in its for-clause, which must not need SMTPUTF8.
            submit(mx, asciiHeaders(marker), "user@b\u00fccher.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> !dumpsWith(marker).isEmpty());
            assertThat(rcptArgs(dumpsWith(marker))).singleElement().asString().contains("user@xn--bcher-kva.utf8.test");
            awaitQueueEmpty(mx);
            assertThat(mx.delivered("alice")).as("no DSN").isEmpty();
        }
    }

    @Test
    void aNextHopWithSmtputf8GetsEverythingAsBefore() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submit(mx, "From: alice@example.test\r\nTo: \u7528\u6237@eai.utf8.test\r\nSubject: Gr\u00fc\u00dfe " + marker + "\r\n",
                    "\u7528\u6237@eai.utf8.test", "x@eai.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
                    eaiSink.messages.stream().anyMatch(m -> new String(m, StandardCharsets.UTF_8).contains(marker)));
            awaitQueueEmpty(mx);
            assertThat(mx.delivered("alice")).as("no DSN").isEmpty();
            assertThat(eaiSink.commands("RCPT")).anySatisfy(r -> assertThat(r).contains("<\u7528\u6237@eai.utf8.test>"))
                    .anySatisfy(r -> assertThat(r).contains("<x@eai.utf8.test>"));
            assertThat(eaiSink.commands("MAIL")).anySatisfy(m -> assertThat(m).contains("SMTPUTF8"));
        }
    }

    @Test
    void recipientsAPostfixRefusesAsTooManyGoInNewTransactionsAtOnce() throws Exception {
        String marker = UUID.randomUUID().toString();
        try (TestMx mx = sender()) {
            submit(mx, asciiHeaders(marker), "a@few.utf8.test", "b@few.utf8.test", "c@few.utf8.test");
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> rcptArgs(dumpsWith(marker)).size() >= 3);
            List<SinkDump> dumps = dumpsWith(marker);
            assertThat(dumps).as("one transaction per recipient, as smtpd_recipient_limit = 1 asks").hasSize(3);
            assertThat(String.join(" ", rcptArgs(dumps))).contains("a@few.utf8.test", "b@few.utf8.test", "c@few.utf8.test");
            awaitQueueEmpty(mx);
            assertThat(mx.delivered("alice")).as("no DSN").isEmpty();
        }
    }
}
