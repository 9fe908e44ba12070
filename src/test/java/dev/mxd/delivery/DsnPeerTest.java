package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 acceptance 3: every kind of DSN mxd makes, as mxd wrote it to a Maildir, read by an
 * independent parser (Python's email package, dsn_fields.py) field by field: RFC 3464 fields,
 * RFC 6522 structure, RFC 6533 global types for SMTPUTF8 mail, no base64 delivery-status part,
 * a Message-ID in mxd's own host name.
 *
 * <p>The next hop for reject.dest.test is a real smtp-sink refusing every RCPT with 550;
 * late.dest.test's MX has nothing listening, so its mail expires (give-up 4s); bob's Maildir
 * cannot be made (a file stands where its directory would be), so his mail expires too.
 */
@PeerTest
class DsnPeerTest {

    static final String HARD = "127.0.13.11";
    static final String LATE = "127.0.13.12";
    static final String GREY = "127.0.13.13";
    static final String PLAIN = "127.0.13.14";
    static final String WITH_DSN = "127.0.13.15";
    static final String HOST = "mx1.example.test";

    static Path dir;
    static MxdDnsServer dns;
    static SmtpSink hard;
    static dev.mxd.testing.FakeSmtpServer grey;
    static dev.mxd.testing.FakeSmtpServer plain;
    static dev.mxd.testing.FakeSmtpServer withDsn;
    static TestMx mx;
    static Path alice;
    static final List<String> markers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-dsn");
        int port = FreePort.tcpOn(HARD, LATE, GREY, PLAIN, WITH_DSN);
        dns = MxdDnsServer.start(List.of(TestDirs.zone(dir, "dest.test", "hard IN A " + HARD, "late IN A " + LATE,
                "reject MX 10 hard", "later MX 10 late",
                "grey IN A " + GREY, "greylisting MX 10 grey", "plain IN A " + PLAIN, "nodsn MX 10 plain",
                "dsnful IN A " + WITH_DSN, "withdsn MX 10 dsnful")), new InetSocketAddress("127.0.0.1", 0));
        hard = DsnMail.refusingEveryRecipient(HARD, port);
        grey = dev.mxd.testing.FakeSmtpServer.startOn(new InetSocketAddress(GREY, port), 100, "220 grey.dest.test ESMTP",
                List.of("ENHANCEDSTATUSCODES"), c -> c.startsWith("RCPT") ? "450 4.2.0 greylisted, come back later" : null);
        plain = dev.mxd.testing.FakeSmtpServer.startOn(new InetSocketAddress(PLAIN, port), 100, "220 plain.dest.test ESMTP",
                List.of("ENHANCEDSTATUSCODES"), c -> null);
        withDsn = dev.mxd.testing.FakeSmtpServer.startOn(new InetSocketAddress(WITH_DSN, port), 100, "220 dsnful.dest.test ESMTP",
                List.of("ENHANCEDSTATUSCODES", "DSN"), c -> null);
        mx = TestMx.start(DsnMail.delivery(dns.address(), port, "{first: 1s, max: 1s, give-up: 4s}"));
        alice = mx.mx().maildir("example.test", "alice");
        Path bob = mx.mx().maildir("example.test", "bob").getParent();
        Files.createDirectories(bob.getParent());
        Files.writeString(bob, "not a directory: bob's Maildir cannot be made\n");
    }

    @AfterAll
    static void stop() throws Exception {
        mx.close();
        hard.close();
        grey.close();
        plain.close();
        withDsn.close();
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /** The DSN about the message with {@code marker} (its Subject), parsed, with the checks every DSN passes. */
    static JsonNode dsn(String marker, String subject) throws Exception {
        Path file = DsnMail.await(alice, marker, subject);
        String raw = DsnMail.read(file);
        assertThat(raw).startsWith("Return-Path: <>");
        JsonNode d = DsnMail.parse(file);
        JsonNode h = d.path("headers");
        assertThat(h.path("Subject").asText()).isEqualTo(subject);
        assertThat(h.path("From").asText()).isEqualTo("Mail Delivery System <MAILER-DAEMON@" + HOST + ">");
        assertThat(h.path("To").asText()).contains("alice@example.test");
        assertThat(h.path("Message-ID").asText()).as("Message-ID in mxd's own host name").matches("<[^@<>]+@" + HOST + ">");
        assertThat(h.path("Auto-Submitted").asText()).isEqualTo("auto-replied");
        assertThat(h.path("MIME-Version").asText()).isEqualTo("1.0");
        assertThat(h.path("type").asText()).isEqualTo("multipart/report");
        JsonNode parts = d.path("parts");
        assertThat(parts.size()).as("RFC 6522: text, status, original").isEqualTo(3);
        assertThat(parts.get(0).path("type").asText()).isEqualTo("text/plain");
        assertThat(h.path("report-type").asText()).as("RFC 6522 §3: the second part's subtype")
                .isEqualTo(parts.get(1).path("type").asText().substring("message/".length()));
        for (JsonNode p : parts) {
            assertThat(p.path("cte").asText()).as("transfer encoding of %s", p.path("type")).isIn("7bit", "8bit");
        }
        JsonNode perMessage = d.path("status").get(0);
        assertThat(perMessage.path("Reporting-MTA").asText()).isEqualTo("dns; " + HOST);
        assertThat(perMessage.path("Arrival-Date").asText()).matches("[A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000");
        JsonNode r = DsnMail.recipient(d);
        assertThat(r.path("Last-Attempt-Date").asText()).isNotEmpty();
        assertThat(r.path("Status").asText()).matches("[245]\\.\\d{1,3}\\.\\d{1,3}");
        if (r.has("Remote-MTA")) {
            assertThat(r.path("Remote-MTA").asText()).as("RFC 3464 §2.3.5: a host name, no address or port")
                    .matches("dns; [a-z0-9.-]+");
        }
        if (r.has("Diagnostic-Code")) {
            assertThat(r.path("Diagnostic-Code").asText()).matches("(smtp; [245]\\d\\d .*|X-mxd; .*)");
        }
        return d;
    }

    /** The failure DSN, an RFC 3464 report, for a plain message from alice to {@code to}; its recipient group. */
    static JsonNode plainFailure(String to, String body) throws Exception {
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", "", to, "", body);
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        asPlainRfc822Report(d);
        assertThat(d.path("returned").path("headers").path("Subject").asText()).isEqualTo("test " + m);
        return DsnMail.recipient(d);
    }

    static void asPlainRfc822Report(JsonNode d) {
        assertThat(d.path("headers").path("report-type").asText()).isEqualTo("delivery-status");
        assertThat(d.path("parts").get(1).path("type").asText()).isEqualTo("message/delivery-status");
        assertThat(d.path("parts").get(1).path("cte").asText()).isEqualTo("7bit");
    }

    @Test
    void failureReportedByTheNextHop() throws Exception {
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " ENVID=env-1", "nobody@reject.dest.test",
                " NOTIFY=FAILURE ORCPT=rfc822;Nobody@reject.dest.test", "plain body");
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        asPlainRfc822Report(d);
        assertThat(d.path("status").get(0).path("Original-Envelope-Id").asText()).isEqualTo("env-1");
        JsonNode r = DsnMail.recipient(d);
        assertThat(r.path("Original-Recipient").asText()).isEqualTo("rfc822;Nobody@reject.dest.test");
        assertThat(r.path("Final-Recipient").asText()).isEqualTo("rfc822; nobody@reject.dest.test");
        assertThat(r.path("Action").asText()).isEqualTo("failed");
        assertThat(r.path("Status").asText()).isEqualTo("5.1.1");
        assertThat(r.path("Remote-MTA").asText()).isEqualTo("dns; hard.dest.test");
        assertThat(r.path("Diagnostic-Code").asText()).isEqualTo("smtp; 550 5.1.1 no such user here");
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("message/rfc822");
        assertThat(d.path("returned").path("headers").path("Subject").asText()).isEqualTo("test " + m);
        assertThat(d.path("returned").path("body").asText()).contains("plain body");
        assertThat(d.path("parts").get(0).path("text").asText()).contains("nobody@reject.dest.test", "550 5.1.1");
    }

    @Test
    void successNoticeForNotifySuccess() throws Exception {
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " RET=HDRS ENVID=track-42", "alice@example.test",
                " NOTIFY=SUCCESS ORCPT=rfc822;alice@example.test", "plain body");
        JsonNode d = dsn(m, "Successful Mail Delivery Report");
        asPlainRfc822Report(d);
        JsonNode r = DsnMail.recipient(d);
        assertThat(r.path("Action").asText()).isEqualTo("delivered");
        assertThat(r.path("Status").asText()).isEqualTo("2.0.0");
        assertThat(r.has("Remote-MTA")).isFalse();
        assertThat(r.path("Diagnostic-Code").asText()).isEqualTo("X-mxd; delivered to maildir");
        assertThat(d.path("status").get(0).path("Original-Envelope-Id").asText()).isEqualTo("track-42");
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("text/rfc822-headers");
    }

    /**
     * NOTIFY=SUCCESS relayed to a server that does not announce DSN (so it never hears of NOTIFY):
     * mxd is the last to tell, with a "relayed" notice; to one that announces it, NOTIFY goes on and
     * mxd sends none.
     */
    @Test
    void aSuccessRequestRelayedToAServerWithoutDsnGetsARelayedNoticeAndOneWithDsnGetsNone() throws Exception {
        String passedOn = DsnMail.submit(mx.smtp(), "alice@example.test", "", "user@withdsn.dest.test", " NOTIFY=SUCCESS", "plain body");
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " ENVID=relay-1", "user@nodsn.dest.test", " NOTIFY=SUCCESS,FAILURE",
                "plain body");
        JsonNode d = dsn(m, "Successful Mail Delivery Report");
        JsonNode r = DsnMail.recipient(d);
        assertThat(r.path("Action").asText()).isEqualTo("relayed");
        assertThat(r.path("Status").asText()).startsWith("2.");
        assertThat(r.path("Remote-MTA").asText()).isEqualTo("dns; plain.dest.test");
        assertThat(d.path("status").get(0).path("Original-Envelope-Id").asText()).isEqualTo("relay-1");
        assertThat(d.path("parts").get(2).path("type").asText()).as("no failure reported: the header only (RFC 3461 §4.3)")
                .isEqualTo("text/rfc822-headers");
        assertThat(DsnMail.read(DsnMail.await(alice, m, "Successful Mail Delivery Report")))
                .contains("Content-Description: Message Headers").doesNotContain("Undelivered");
        assertThat(plain.commands("RCPT")).allSatisfy(c -> assertThat(c).doesNotContain("NOTIFY"));
        assertThat(withDsn.commands("RCPT")).anySatisfy(c -> assertThat(c).contains("NOTIFY=SUCCESS"));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> mx.mx().queue().idle()
                && mx.mx().spool().ids(dev.mxd.queue.QueueState.INCOMING).isEmpty()); // a notice, had one been made, is in
        assertThat(DsnMail.withMarker(alice, passedOn)).as("the next hop announced DSN: it tells, not mxd").isEmpty();
    }

    @Test
    void retHdrsReturnsTheHeaderOnly() throws Exception {
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " RET=HDRS", "nobody@reject.dest.test", "",
                "private body");
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        asPlainRfc822Report(d);
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("text/rfc822-headers");
        assertThat(d.path("returned").path("headers").path("Subject").asText()).isEqualTo("test " + m);
        assertThat(DsnMail.read(DsnMail.await(alice, m, "Undelivered"))).doesNotContain("private body");
    }

    @Test
    void largeOriginalComesBackAsItsHeader() throws Exception {
        String body = ("x".repeat(99) + "\r\n").repeat(600); // 60,600 octets, over the 50,000 returned whole
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", "", "nobody@reject.dest.test", "", body + "end of body");
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        asPlainRfc822Report(d);
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("text/rfc822-headers");
        assertThat(d.path("returned").path("headers").path("Message-ID").asText()).isEqualTo("<" + m + "@client.test>");
        assertThat(DsnMail.read(DsnMail.await(alice, m, "Undelivered"))).doesNotContain("end of body");
    }

    @Test
    void eightBitOriginalIsReturnedAs8bit() throws Exception {
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " BODY=8BITMIME", "nobody@reject.dest.test", "",
                "Grüße aus Köln");
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        asPlainRfc822Report(d);
        assertThat(d.path("headers").path("Content-Transfer-Encoding").asText()).isEqualTo("8bit");
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("message/rfc822");
        assertThat(d.path("parts").get(2).path("cte").asText()).isEqualTo("8bit");
        assertThat(d.path("returned").path("body").asText()).contains("Grüße aus Köln");
    }

    @Test
    void smtputf8OriginalIsReturnedAsMessageGlobal() throws Exception {
        // smtp-sink does not offer SMTPUTF8: mxd cannot send the UTF-8 address there and fails it itself (5.6.7).
        String m = DsnMail.submit(mx.smtp(), "alice@example.test", " SMTPUTF8", "jürgen@reject.dest.test", "", "Grüße");
        JsonNode d = dsn(m, "Undelivered Mail Returned to Sender");
        assertThat(d.path("headers").path("report-type").asText()).isEqualTo("global-delivery-status");
        assertThat(d.path("parts").get(1).path("type").asText()).isEqualTo("message/global-delivery-status");
        assertThat(d.path("parts").get(2).path("type").asText()).isEqualTo("message/global");
        JsonNode r = DsnMail.recipient(d);
        assertThat(r.path("Final-Recipient").asText()).as("RFC 6533 §3 utf-8 address type")
                .isEqualTo("utf-8; jürgen@reject.dest.test");
        assertThat(r.path("Action").asText()).isEqualTo("failed");
        assertThat(r.path("Status").asText()).startsWith("5.");
        assertThat(d.path("returned").path("headers").path("To").asText()).isEqualTo("<jürgen@reject.dest.test>");
        assertThat(d.path("returned").path("body").asText()).contains("Grüße");
    }

    @Test
    void dnsFailureHasNoRemoteMtaAndAnMxdDiagnostic() throws Exception {
        JsonNode r = plainFailure("user@no-such-host.dest.test", "plain body");
        assertThat(r.path("Status").asText()).isEqualTo("5.1.2");
        assertThat(r.has("Remote-MTA")).isFalse();
        assertThat(r.path("Diagnostic-Code").asText()).startsWith("X-mxd; ").contains("NXDOMAIN");
    }

    @Test
    void localMaildirFailureExpiresWith447() throws Exception {
        JsonNode r = plainFailure("bob@example.test", "plain body");
        assertThat(r.path("Final-Recipient").asText()).isEqualTo("rfc822; bob@example.test");
        assertThat(r.path("Status").asText()).isEqualTo("4.4.7");
        assertThat(r.path("Action").asText()).isEqualTo("failed");
        assertThat(r.has("Remote-MTA")).isFalse();
        assertThat(r.path("Diagnostic-Code").asText()).startsWith("X-mxd; delivery time expired").contains("maildir");
    }

    /** RFC 3463 §3.5 (X.4.7): the code of the real trouble says more; the last server's reply is kept as the Diagnostic-Code. */
    @Test
    void anExpiryAfterAServersDeferralKeepsItsReply() throws Exception {
        JsonNode r = plainFailure("user@greylisting.dest.test", "plain body");
        assertThat(r.path("Action").asText()).isEqualTo("failed");
        assertThat(r.path("Remote-MTA").asText()).isEqualTo("dns; grey.dest.test");
        assertThat(r.path("Diagnostic-Code").asText()).isEqualTo("smtp; 450 4.2.0 greylisted, come back later");
    }

    @Test
    void remoteDeliveryExpiresWith447() throws Exception {
        JsonNode r = plainFailure("user@later.dest.test", "plain body");
        assertThat(r.path("Status").asText()).isEqualTo("4.4.7");
        assertThat(r.path("Diagnostic-Code").asText()).startsWith("X-mxd; delivery time expired");
    }
}
