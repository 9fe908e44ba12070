package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.Await;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The session's log lines as an operator reads them (connect, each refusal with the whole reply
 * and envelope, disconnect with per-command counts, as Postfix's smtpd), and the refusals counted
 * by stage and code at /metrics. A real mxd over a real socket.
 */
class SessionLogTest {

    private TestMx mx;
    private LogCapture log;

    @BeforeEach
    void start() throws Exception {
        log = LogCapture.start(Level.INFO);
        mx = TestMx.startWithAdmin("limits:\n  max-message-size: 10KB\n  max-connections-per-ip: 1\n");
    }

    @AfterEach
    void stop() {
        mx.close();
        log.close();
    }

    private static String say(RawSmtp c, String command) throws Exception {
        c.send(command + "\r\n");
        return c.reply();
    }

    @Test
    void connectRefusalsAndDisconnectAreLoggedAndCounted() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO bad\tname")).startsWith("501");
            assertThat(say(c, "EHLO client.example")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<big@sender.example> SIZE=99999999")).startsWith("552");
            assertThat(say(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<nobody@example.test>")).startsWith("550");
            assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<x@[999.1.1.1]>")).startsWith("501");
            assertThat(say(c, "DATA")).startsWith("354");
            assertThat(say(c, "Subject: t\r\n\r\nbody\r\n.")).startsWith("250");
            assertThat(say(c, "QUIT")).startsWith("221");
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
        List<String> lines = lines();
        assertThat(lines).contains("connect from unknown[127.0.0.1]");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 ")
                .endsWith("; from=<a@sender.example> to=<nobody@example.test> proto=ESMTP helo=<client.example>"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: EHLO from unknown[127.0.0.1]: 501 5.5.4 ")
                .endsWith("; proto=SMTP"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 552 ")
                .endsWith("; from=<big@sender.example> proto=ESMTP helo=<client.example>"));
        // a RCPT that does not parse names no recipient: it named the transaction's first accepted one, alice
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 501 5.5.4 ")
                .endsWith("; from=<a@sender.example> proto=ESMTP helo=<client.example>"));
        assertThat(lines).contains("disconnect from unknown[127.0.0.1] ehlo=1/2 mail=1/2 rcpt=1/3 data=1 quit=1 commands=5/9");

        String metrics = new AdminHttp(mx).get("/metrics").body();
        assertThat(metrics).contains("mxd_smtp_rejections_total{code=\"550\",stage=\"rcpt\"} 1.0")
                .contains("mxd_smtp_rejections_total{code=\"552\",stage=\"mail\"} 1.0");
    }

    @Test
    void refusalsAfterTheTextAreLoggedAndCountedAsEndOfMessage() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "HELO old.example")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<bob@example.test>")).startsWith("250");
            assertThat(say(c, "DATA")).startsWith("354");
            assertThat(say(c, "Subject: big\r\n\r\n" + ("x".repeat(70) + "\r\n").repeat(200) + ".")).startsWith("552");
            assertThat(say(c, "QUIT")).startsWith("221");
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
        List<String> lines = lines();
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: END-OF-MESSAGE from unknown[127.0.0.1]: 552 ")
                .endsWith("; from=<> to=<bob@example.test> proto=SMTP helo=<old.example>"));
        assertThat(lines).contains("disconnect from unknown[127.0.0.1] helo=1 mail=1 rcpt=1 data=0/1 quit=1 commands=4/5");
        assertThat(new AdminHttp(mx).get("/metrics").body()).contains("mxd_smtp_rejections_total{code=\"552\",stage=\"end-of-data\"} 1.0");
    }

    /** A client's address as Postfix logs it (fail2ban's patterns match it): IPv6 in RFC 5952's form, no scope, no port. */
    @Test
    void anIpv6ClientIsLoggedShortAndWithoutItsScope() throws Exception {
        byte[] linkLocal = new byte[16];
        linkLocal[0] = (byte) 0xfe;
        linkLocal[1] = (byte) 0x80;
        linkLocal[15] = 1;
        assertThat(SessionLog.addressText(new java.net.InetSocketAddress(java.net.Inet6Address.getByAddress(null, linkLocal, 2), 25)))
                .isEqualTo("fe80::1");
        assertThat(SessionLog.addressText(new java.net.InetSocketAddress(java.net.InetAddress.getByName("2001:db8:0:0:0:0:0:7"), 25)))
                .isEqualTo("2001:db8::7");
        assertThat(SessionLog.addressText(new java.net.InetSocketAddress(java.net.InetAddress.getByName("192.0.2.7"), 25)))
                .isEqualTo("192.0.2.7");
        assertThat(SessionLog.addressText(null)).isEqualTo("unknown");
    }

    @Test
    void aConnectionRefusedAtConnectIsLoggedAndCounted() throws Exception {
        try (RawSmtp first = new RawSmtp(mx.smtp())) {
            assertThat(first.code()).isEqualTo(220);
            try (RawSmtp second = new RawSmtp(mx.smtp())) {
                assertThat(second.reply()).startsWith("421 4.7.0");
            }
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("NOQUEUE: reject: CONNECT ")));
        assertThat(lines()).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: CONNECT from unknown[127.0.0.1]: 421 4.7.0 ")
                .endsWith("; proto=SMTP"));
        assertThat(new AdminHttp(mx).get("/metrics").body()).contains("mxd_smtp_rejections_total{code=\"421\",stage=\"connect\"} 1.0");
    }

    @Test
    void aClientGoneDuringTheTextCountsItsDataAsRefused() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO client.example")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
            assertThat(say(c, "DATA")).startsWith("354");
            c.send("Subject: cut\r\n\r\nhalf a message\r\n");
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
        // Postfix's line for a client gone without QUIT, naming where: a message cut short is seen as one
        assertThat(lines()).containsSubsequence("lost connection after DATA from unknown[127.0.0.1]",
                "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4");
    }

    /** A RCPT refused for its parameters names its recipient in the NOQUEUE line, as Postfix's does; one that does not parse names none. */
    @Test
    void aRcptRefusedForItsParametersNamesItsRecipient() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO client.example")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<bob@example.test> NOTIFY=BOGUS")).startsWith("501");
            assertThat(say(c, "QUIT")).startsWith("221");
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
        assertThat(lines()).anySatisfy(l -> assertThat(l).startsWith("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 501 ")
                .contains("; from=<a@sender.example> to=<bob@example.test> proto=ESMTP"));
    }

    @Test
    void aClientThatQuitsLosesNoConnection() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO client.example")).startsWith("250");
            assertThat(say(c, "QUIT")).startsWith("221");
        }
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
        assertThat(lines()).noneMatch(l -> l.startsWith("lost connection"));
    }

    /**
     * STARTTLS is counted on the disconnect line as Postfix counts it ({@code ehlo=2 starttls=1 quit=1 commands=4}); it
     * was left out (its 220 went out past the count), so log summaries and filters that look for starttls= saw none. A
     * handshake that fails counts as starttls=0/1.
     */
    @Test
    void startTlsIsCountedOnTheDisconnectLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        try (TestMx tls = TestMx.start(dev.mxd.testing.Certificates.tlsSection(dir) + "timeouts:\n  greet-pause: 0s\n")) {
            try (RawSmtp c = new RawSmtp(tls.smtp())) {
                assertThat(c.code()).isEqualTo(220);
                assertThat(say(c, "EHLO client.example")).startsWith("250");
                c.startTls("mx1.example.test");
                assertThat(say(c, "EHLO client.example")).startsWith("250");
                assertThat(say(c, "QUIT")).startsWith("221");
            }
            assertThat(Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")))).isTrue();
            assertThat(lines()).filteredOn(l -> l.startsWith("disconnect from ")).singleElement().asString()
                    .endsWith(" ehlo=2 starttls=1 quit=1 commands=4");
            try (RawSmtp c = new RawSmtp(tls.smtp())) {
                assertThat(c.code()).isEqualTo(220);
                assertThat(say(c, "EHLO client.example")).startsWith("250");
                assertThat(say(c, "STARTTLS")).startsWith("220");
                c.send("this is no ClientHello\r\n\r\n"); // the handshake fails
                assertThat(c.reply()).as("closed").doesNotStartWith("250");
            }
            assertThat(Await.within(Duration.ofSeconds(10), () -> lines().stream().filter(l -> l.startsWith("disconnect from "))
                    .count() == 2)).as(String.join("\n", lines())).isTrue();
            assertThat(lines()).contains("lost connection after STARTTLS from unknown[127.0.0.1]");
            assertThat(lines()).anySatisfy(l -> assertThat(l).contains(" ehlo=1 starttls=0/1 commands=1/2"));
        }
    }

    /**
     * A session closed by a timeout after its message was accepted: Postfix's "timeout after END-OF-MESSAGE" line
     * with the 421, not a NOQUEUE reject naming the accepted message's sender and recipient (which log readers,
     * pflogsumm and fail2ban take for a refused message), and no rejection counted.
     */
    @Test
    void aTimeoutAfterAnAcceptedMessageIsLoggedAsATimeoutNotAsARejection() throws Exception {
        try (TestMx quick = TestMx.startWithAdmin("timeouts:\n  command: 500ms\n  greet-pause: 0s\n");
             RawSmtp c = new RawSmtp(quick.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO client.example")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
            assertThat(say(c, "DATA")).startsWith("354");
            assertThat(say(c, "Subject: t\r\n\r\nbody\r\n.")).startsWith("250");
            assertThat(c.reply()).startsWith("421 4.4.2");
            Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
            assertThat(lines()).anySatisfy(l -> assertThat(l).startsWith("timeout after END-OF-MESSAGE from unknown[127.0.0.1]: 421 4.4.2 "))
                    .noneMatch(l -> l.startsWith("NOQUEUE")).noneMatch(l -> l.startsWith("lost connection"));
            assertThat(new AdminHttp(quick).get("/metrics").body()).doesNotContain("mxd_smtp_rejections_total{code=\"421\"");
        }
    }

    private List<String> lines() {
        return log.lines();
    }
}
