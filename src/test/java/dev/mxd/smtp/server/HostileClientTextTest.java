package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.Await;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 16 point 3: control characters a client puts into EHLO, HELO, MAIL, RCPT or an unknown
 * command are refused (501, 500) with the session still usable, and what the client may send
 * (a U-label name, a UTF-8 address with an invisible bidirectional override) reaches neither a
 * log line nor a header raw. The whole log of mxd (every event of the dev.mxd loggers) and the
 * delivered Maildir file are searched for raw control characters.
 */
class HostileClientTextTest {

    /** C0 controls but the line ends and tab of a header, DEL, C1 controls, line separators, bidi overrides. */
    private static final Pattern RAW_IN_LOG = Pattern.compile("[\\x00-\\x1f\\x7f\\x80-\\x9f\\u2028\\u2029\\u202a-\\u202e]");

    private TestMx mx;
    private LogCapture log;

    @BeforeEach
    void start() throws Exception {
        log = LogCapture.start(Level.DEBUG);
        mx = TestMx.start("");
    }

    @AfterEach
    void stop() {
        mx.close();
        log.close();
    }

    /** One command; its reply must start with {@code expected} and hold no raw control character. */
    private static void expect(RawSmtp c, String command, String expected) throws Exception {
        c.send(command + "\r\n");
        String reply = c.reply();
        assertThat(reply).as(command).startsWith(expected);
        assertThat(reply.split("\r?\n")).as("reply to %s", command).allSatisfy(line ->
                assertThat(line).matches("\\d{3}[ -].*").doesNotContainPattern(RAW_IN_LOG));
    }

    @Test
    void controlCharactersAreRefusedAndNothingRawReachesTheLogOrTheMessage() throws Exception {
        String sender = "\u202eeve@attacker.test"; // valid UTF-8 atext (RFC 6531), invisible when printed
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            expect(c, "EHLO ev\0il\u001b[2J\u0007.test", "501 5.5.4");
            expect(c, "HELO client\ttest", "501 5.5.4");
            expect(c, "EHLO ev\u0085il.test", "501 5.5.4");
            expect(c, "X\u001b[2J\u0000 \u0007", "500 5.5.2");
            expect(c, "EHLO bücher.example", "250-mx1.example.test hello xn--bcher-kva.example"); // a reply is ASCII (RFC 5321 §4.2)
            expect(c, "MAIL FROM:<ev\u001bil@attacker.test>", "501 5.5.4");
            expect(c, "MAIL FROM:<" + sender + "> SMTPUTF8", "250 2.1.0");
            expect(c, "RCPT TO:<al\0ice@example.test>", "501 5.5.4");
            expect(c, "RCPT TO:<alice@exam\u0085ple.test>", "501 5.5.4");
            expect(c, "RCPT TO:<alice@example.test>", "250 2.1.5");
            expect(c, "DATA", "354");
            expect(c, "Subject: hostile client\r\n\r\nbody\r\n.", "250 2.0.0 OK queued as ");
            expect(c, "QUIT", "221");
        }
        byte[] delivered = Files.readAllBytes(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10)).get(0));
        String message = new String(delivered, StandardCharsets.UTF_8);
        assertThat(message).contains("Received: from xn--bcher-kva.example ([127.0.0.1])");
        assertThat(message.replace("\n", "").replace("\t", "").replace("\u202e", ""))
                .as("the delivered message, but for the sender's own override in Return-Path").doesNotContainPattern(RAW_IN_LOG);

        List<String> lines = awaitLogLine("from=<\\x{202E}eve@attacker.test>");
        assertThat(lines).anySatisfy(l -> assertThat(l).endsWith("helo=<bücher.example>"));
        assertThat(lines).allSatisfy(l -> assertThat(l).doesNotContainPattern(RAW_IN_LOG));
        assertThat(String.join("\n", lines)).as("nothing of the refused commands").doesNotContain("[2J", "il.test");
    }

    private List<String> awaitLogLine(String part) throws InterruptedException {
        Await.within(Duration.ofSeconds(10), () -> lines().stream().anyMatch(l -> l.contains(part)));
        List<String> all = lines();
        assertThat(all).as("log lines").anySatisfy(l -> assertThat(l).contains(part));
        return all;
    }

    private List<String> lines() {
        return log.lines();
    }
}
