package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.DsnNotify;
import dev.mxd.mail.Route;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.testing.Await;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reply codes of issue 3 point 3, over a real socket. */
class SmtpServerTest {

    private TestMx mx;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.start("trusted-networks: []\nlimits:\n  max-recipients: 3\n  max-message-size: 1KB\n  max-connections-per-ip: 3\n");
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    private RawSmtp greeted() throws Exception {
        RawSmtp c = new RawSmtp(mx.smtp());
        assertThat(c.reply()).isEqualTo("220 mx1.example.test ESMTP mxd");
        return c;
    }

    /** DATA, the text (unstuffed is fine: no line starts with a dot) and the end; returns the queue id of the 250. */
    private static String data(RawSmtp c, String text) throws Exception {
        c.send("DATA\r\n");
        assertThat(c.code()).isEqualTo(354);
        c.send((text + ".\r\n").getBytes(StandardCharsets.UTF_8));
        String r = c.reply();
        assertThat(r).startsWith("250 2.0.0 OK queued as ");
        return r.substring("250 2.0.0 OK queued as ".length());
    }

    /** The envelope once the message waits in deferred/ for remote delivery (bounded wait). */
    private Envelope deferred(String id) throws Exception {
        Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).orElse(null) == QueueState.DEFERRED);
        return mx.mx().spool().envelope(QueueState.DEFERRED, id);
    }

    private String say(RawSmtp c, String line) throws Exception {
        c.send(line + "\r\n");
        return c.reply();
    }

    @Test
    void ehloAdvertisesTheExtensions() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "EHLO client.test")).contains("250-PIPELINING", "250-SIZE 1024", "250-8BITMIME", "250-SMTPUTF8",
                    "250-ENHANCEDSTATUSCODES", "250-DSN").doesNotContain("STARTTLS");
            assertThat(say(c, "STARTTLS")).startsWith("502 5.5.1");
            assertThat(say(c, "VRFY alice")).startsWith("252 2.5.0");
            assertThat(say(c, "HELP")).startsWith("214-2.0.0").as("no certificate here: no STARTTLS offered").doesNotContain("STARTTLS");
            assertThat(say(c, "NOOP")).startsWith("250 2.0.0");
            assertThat(say(c, "QUIT")).startsWith("221 2.0.0");
        }
    }

    /** After HELO, MAIL and RCPT parameters are read as after EHLO (a client that fell back to HELO), as Postfix reads them. */
    @Test
    void parametersAfterHeloAreTaken() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "HELO client.test")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME")).startsWith("250 2.1.0");
            assertThat(say(c, "RCPT TO:<alice@example.test> NOTIFY=FAILURE")).startsWith("250");
            assertThat(say(c, "QUIT bye")).startsWith("221");
        }
    }

    @Test
    void sequenceAndSyntaxErrors() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "MAIL FROM:<a@b.test>")).startsWith("503 5.5.1");
            assertThat(say(c, "EHLO client.test")).startsWith("250-");
            assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("503 5.5.1");
            assertThat(say(c, "DATA")).startsWith("503 5.5.1");
            assertThat(say(c, "FROB")).startsWith("500 5.5.2");
            assertThat(say(c, "MAIL FROM:<a@b.test")).startsWith("501 5.5.4");
            assertThat(say(c, "MAIL FROM:<a@b.test>")).startsWith("250 2.1.0");
            assertThat(say(c, "MAIL FROM:<a@b.test>")).startsWith("503 5.5.1");
            assertThat(say(c, "DATA")).startsWith("503 5.5.1");
            assertThat(say(c, "RSET")).startsWith("250 2.0.0");
            assertThat(say(c, "X".repeat(3000))).startsWith("500 5.5.6 line too long");
            assertThat(say(c, "NOOP")).startsWith("250"); // still in step after the long line
        }
    }

    /**
     * A MAIL or RCPT out of sequence is told so (503) before anything about its syntax or parameters, as Postfix's smtpd
     * answers it: an unknown parameter, a bad address or an address needing SMTPUTF8 gave 501, 553 or 555, which sends a
     * client looking for the wrong fault.
     */
    @Test
    void aCommandOutOfSequenceIsToldSoBeforeItsSyntax() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "MAIL FROM:<a@b.test> FOO=1")).startsWith("503 5.5.1 bad sequence of commands: send EHLO");
            assertThat(say(c, "EHLO client.test")).startsWith("250-");
            assertThat(say(c, "RCPT TO:<alice@example.test> FOO=1")).startsWith("503 5.5.1 bad sequence of commands: send MAIL");
            assertThat(say(c, "RCPT TO:<alice@")).startsWith("503 5.5.1 bad sequence of commands: send MAIL");
            assertThat(say(c, "MAIL FROM:<a@b.test>")).startsWith("250 2.1.0");
            assertThat(say(c, "MAIL FROM:<jörg@b.test>")).startsWith("503 5.5.1 bad sequence of commands: MAIL already");
            assertThat(say(c, "MAIL FROM:<a@b.test> FOO=1")).startsWith("503 5.5.1 bad sequence of commands: MAIL already");
            // in sequence, the syntax and the parameters are judged as before
            assertThat(say(c, "RCPT TO:<alice@example.test> FOO=1")).startsWith("555");
            assertThat(say(c, "RCPT TO:<alice@")).startsWith("501");
            assertThat(say(c, "RSET")).startsWith("250 2.0.0");
            assertThat(say(c, "MAIL FROM:<a@b.test> FOO=1")).startsWith("555");
        }
    }

    /**
     * A message line longer than limits.max-data-line-length refuses the message after its final
     * dot with a code RFC 5321 §4.3.2 allows there (554; it was 500, "command unrecognized", with
     * 5.5.6, RFC 4954's code for an authentication line); the session goes on.
     */
    @Test
    void aMessageLineOverTheLimitIsRefusedWith554AfterTheDot() throws Exception {
        try (TestMx narrow = TestMx.start("limits:\n  max-data-line-length: 1000\n"); RawSmtp c = new RawSmtp(narrow.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(say(c, "EHLO client.test")).startsWith("250-");
            c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: long\r\n\r\n" + "x".repeat(1200) + "\r\n.\r\n");
            assertThat(c.reply()).startsWith("554 5.6.0 message line too long");
            assertThat(say(c, "NOOP")).startsWith("250");
        }
    }

    /**
     * RFC 2920 §3.1: message text may start a group, and the next transaction's commands may follow
     * its final dot in the same write. Their replies were written but never sent (the server
     * flushed only the 250 for the message, then waited for more input), so the client waited
     * for its MAIL reply until a timeout and deferred the second message.
     */
    @Test
    void commandsPipelinedBehindTheFinalDotAreAnswered() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "EHLO client.test")).startsWith("250-");
            c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
            assertThat(c.code()).as("MAIL, sent behind the dot").isEqualTo(250);
            assertThat(c.code()).as("RCPT").isEqualTo(250);
            assertThat(c.code()).as("DATA").isEqualTo(354);
            c.send("Subject: two\r\n\r\nsecond\r\n.\r\nNOOP\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
            assertThat(c.reply()).as("NOOP, sent behind the dot").startsWith("250 2.0.0");
            assertThat(say(c, "QUIT")).startsWith("221");
        }
    }

    /**
     * A client that sends its text without waiting for the reply to DATA, whose recipients were all
     * refused: the text must not run as commands. A body holding RCPT and DATA lines was executed and
     * queued a message to a recipient of the body's choosing (RFC 2920 §3.1 makes DATA the last
     * command of a group); now the DATA gets 554 5.5.0 and the connection closes, as Postfix's
     * smtpd_forbid_unauth_pipelining does.
     */
    @Test
    void textSentBeforeTheReplyToARefusedDataIsNotRunAsCommands() throws Exception {
        try (RawSmtp c = greeted()) {
            assertThat(say(c, "EHLO client.test")).startsWith("250-");
            c.send("MAIL FROM:<list@b.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nSubject: hi\r\n\r\n"
                    + "RCPT TO:<alice@example.test>\r\nDATA\r\nSubject: injected\r\n\r\nevil\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.1.0");
            assertThat(c.reply()).startsWith("550 5.1.1");
            assertThat(c.reply()).startsWith("554 5.5.0");
            assertThat(c.closedByServer()).isTrue();
        }
        try (RawSmtp c = greeted()) { // the text in a later segment than the DATA: the refused DATA ended the transaction
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<list@b.test>");
            assertThat(say(c, "RCPT TO:<carol@example.test>")).startsWith("550 5.1.1");
            assertThat(say(c, "DATA")).startsWith("503 5.5.1");
            c.send("Subject: hi\r\n\r\nMAIL FROM:<list@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: injected\r\n\r\n"
                    + "evil\r\n.\r\n");
            assertThat(c.reply()).startsWith("554 5.5.0"); // "Subject: hi" right after the refused DATA: the text, sent without 354
            assertThat(c.closedByServer()).isTrue();
        }
        // MAIL itself refused (its size; a parameter it cannot parse): RCPT and DATA get 503, and the text after is still text
        for (String mail : List.of("MAIL FROM:<list@b.test> SIZE=999999999999", "MAIL FROM:<list@b.test> FROB=1")) {
            try (RawSmtp c = greeted()) {
                say(c, "EHLO client.test");
                assertThat(say(c, mail)).startsWith("55");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("503");
                assertThat(say(c, "DATA")).startsWith("503 5.5.1");
                c.send("Subject: hi\r\n\r\nMAIL FROM:<ceo@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                        + "Subject: injected\r\n\r\nevil\r\n.\r\n");
                assertThat(c.reply()).as(mail).startsWith("554 5.5.0");
                assertThat(c.closedByServer()).isTrue();
            }
        }
        try (RawSmtp c = greeted()) { // a first line of text over the line limit is text too, not a command answered 500
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<list@b.test>");
            assertThat(say(c, "RCPT TO:<carol@example.test>")).startsWith("550 5.1.1");
            assertThat(say(c, "DATA")).startsWith("503 5.5.1");
            c.send("X-Pad: " + "x".repeat(2100) + "\r\nMAIL FROM:<list@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                    + "Subject: injected\r\n\r\nevil\r\n.\r\n");
            assertThat(c.reply()).startsWith("554 5.5.0");
            assertThat(c.closedByServer()).isTrue();
        }
        try (RawSmtp c = greeted()) { // a client that goes on with commands after a refused DATA is served as before
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<list@b.test>");
            say(c, "RCPT TO:<carol@example.test>");
            assertThat(say(c, "DATA")).startsWith("503 5.5.1");
            assertThat(say(c, "RSET")).startsWith("250");
            assertThat(say(c, "FROB")).startsWith("500"); // an unknown command later is just that
            assertThat(say(c, "NOOP")).startsWith("250");
        }
        Thread.sleep(300); // had a message been queued, its local delivery takes a few milliseconds
        assertThat(mx.delivered("alice")).isEmpty();
    }

    /**
     * The same recipient twice in a transaction, with the same DSN parameters, is one recipient, as
     * Postfix's cleanup makes it (it was relayed twice and named twice in every notice); the domain's
     * case does not matter, another NOTIFY keeps its own, and a duplicate still counts toward
     * max-recipients, as Postfix counts it.
     */
    @Test
    void aRecipientGivenTwiceIsOneRecipient() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<a@b.test>");
            assertThat(say(c, "RCPT TO:<anyone@example.org> NOTIFY=SUCCESS")).startsWith("250 2.1.5");
            assertThat(say(c, "RCPT TO:<anyone@EXAMPLE.org> NOTIFY=SUCCESS")).startsWith("250 2.1.5");
            assertThat(say(c, "RCPT TO:<anyone@example.org> NOTIFY=NEVER")).startsWith("250 2.1.5");
            assertThat(say(c, "RCPT TO:<Anyone@example.org>")).startsWith("452 4.5.3"); // max-recipients 3: a duplicate counts
            String id = data(c, "Subject: twice\r\n\r\nhi\r\n");
            assertThat(deferred(id).recipients()).extracting(r -> r.recipient().address() + " " + r.recipient().dsn().notifyOn())
                    .containsExactly("anyone@example.org [SUCCESS]", "anyone@example.org [NEVER]");
        }
    }

    /**
     * 8-bit text sent without BODY=8BITMIME (common; taken, as Postfix takes it) is recorded as 8-bit,
     * so that it goes on with BODY=8BITMIME or is converted for a server without 8BITMIME (RFC 6152
     * §3): it was relayed raw, marked 7-bit. ASCII text stays 7-bit.
     */
    @Test
    void eightBitTextWithoutBodyParameterIsRecordedAsEightBit() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<a@b.test>");
            say(c, "RCPT TO:<anyone@example.org>");
            String eight = data(c, "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n");
            say(c, "MAIL FROM:<a@b.test>");
            say(c, "RCPT TO:<anyone@example.org>");
            String seven = data(c, "Subject: plain\r\n\r\nhello\r\n");
            assertThat(deferred(eight).parameters().body()).isEqualTo(MailParameters.Body.EIGHT_BIT_MIME);
            assertThat(deferred(seven).parameters().body()).isEqualTo(MailParameters.Body.SEVEN_BIT);
        }
    }

    @Test
    void rolesAtRcptTime() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<a@b.test>");
            assertThat(say(c, "RCPT TO:<carol@example.test>")).startsWith("550 5.1.1");
            assertThat(say(c, "RCPT TO:<someone@elsewhere.test>")).startsWith("554 5.7.1");
            assertThat(say(c, "RCPT TO:<bob%elsewhere.test@example.test>")).startsWith("550 5.1.1");
            assertThat(say(c, "RCPT TO:<@example.test:bob@elsewhere.test>")).startsWith("554 5.7.1");
            assertThat(say(c, "RCPT TO:<bob@[127.0.0.1]>")).startsWith("550 5.1.1"); // this host's own address (RFC 1123 §5.2.17)
            assertThat(say(c, "RCPT TO:<bob@[192.0.2.1]>")).startsWith("554 5.7.1");
            assertThat(say(c, "RCPT TO:<Postmaster@EXAMPLE.test>")).startsWith("250 2.1.5");
            assertThat(say(c, "RCPT TO:<anyone@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;anyone@example.org")).startsWith("250 2.1.5");
        }
    }

    /**
     * An ENVID or ORCPT whose xtext decodes to a CR LF would write fields of its own (a forged
     * "Action: delivered") into the delivery-status part of a later DSN: it is a 501, and the
     * session goes on.
     */
    @Test
    void envidAndOrcptThatDecodeToLineBreaksAreSyntaxErrors() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            assertThat(say(c, "MAIL FROM:<a@b.test> ENVID=x+0D+0A+0D+0AFinal-Recipient:+20rfc822;+20ceo@victim.test"))
                    .startsWith("501 5.5.4 ENVID must decode to printable US-ASCII");
            assertThat(say(c, "MAIL FROM:<a@b.test> ENVID=a+00b")).startsWith("501 5.5.4");
            assertThat(say(c, "MAIL FROM:<a@b.test> ENVID=env+20+2B1")).startsWith("250 2.1.0");
            assertThat(say(c, "RCPT TO:<c@d.test> ORCPT=rfc822;c@d.test+0D+0AAction:+20delivered"))
                    .startsWith("501 5.5.4 ORCPT address must not contain control characters");
            assertThat(say(c, "RCPT TO:<alice@example.test> ORCPT=rfc@822;alice@example.test"))
                    .startsWith("501 5.5.4 ORCPT address type");
            assertThat(say(c, "RCPT TO:<alice@example.test> ORCPT=rfc822;alice@example.test+09")).startsWith("501 5.5.4");
            assertThat(say(c, "RCPT TO:<alice@example.test> ORCPT=rfc822;Alice+2Bx@example.test")).startsWith("250 2.1.5");
            assertThat(say(c, "NOOP")).startsWith("250");
        }
    }

    @Test
    void recipientAndSizeLimits() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            assertThat(say(c, "MAIL FROM:<a@b.test> SIZE=5000")).startsWith("552 5.3.4");
            assertThat(say(c, "MAIL FROM:<a@b.test> SIZE=500")).startsWith("250");
            for (String to : List.of("alice", "bob", "postmaster")) {
                assertThat(say(c, "RCPT TO:<" + to + "@example.test>")).startsWith("250");
            }
            assertThat(say(c, "RCPT TO:<anyone@example.org>")).startsWith("452 4.5.3");
            assertThat(say(c, "DATA")).startsWith("354");
            assertThat(say(c, "x".repeat(900) + "\r\n" + "y".repeat(900) + "\r\n.")).startsWith("552 5.3.4");
            assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("503"); // the transaction is over
        }
        assertThat(mx.mx().spool().ids(QueueState.INCOMING)).isEmpty();
    }

    @Test
    void connectionsPerAddressAreLimited() throws Exception {
        List<RawSmtp> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                open.add(greeted());
            }
            try (RawSmtp fourth = new RawSmtp(mx.smtp())) {
                assertThat(fourth.reply()).startsWith("421 4.7.0");
                assertThat(fourth.closedByServer()).isTrue();
            }
        } finally {
            for (RawSmtp c : open) {
                c.close();
            }
        }
    }

    @Test
    void acceptedMessageHasReceivedHeaderQueueIdAndDsnEnvelope() throws Exception {
        String id;
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<José@exämple.test> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=env+2B1");
            assertThat(say(c, "RCPT TO:<alice@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;alice@example.test")).startsWith("250");
            assertThat(say(c, "RCPT TO:<anyone@example.org>")).startsWith("250");
            id = data(c, "Subject: caf\u00e9\r\n\r\n8-bit: \u00e9\u00e8\r\n");
        }
        List<Path> alice = mx.awaitDelivered("alice", 1, Duration.ofSeconds(10));
        assertThat(alice).hasSize(1);
        String text = Files.readString(alice.get(0), StandardCharsets.UTF_8);
        assertThat(text).startsWith("Return-Path: <José@exämple.test>\nDelivered-To: alice@example.test\nReceived: from client.test ([127.0.0.1])\n"
                + "\tby mx1.example.test (mxd) with UTF8SMTP id " + id + "; ");
        assertThat(text).endsWith("Subject: caf\u00e9\n\n8-bit: \u00e9\u00e8\n");
        // The backup recipient stays in the spool for the delivery agent, with its DSN parameters.
        Envelope e = deferred(id);
        assertThat(e.parameters().envid()).contains("env+1");
        assertThat(e.parameters().ret()).isPresent();
        assertThat(e.recipients()).hasSize(2);
        assertThat(e.recipients().get(0).recipient().dsn().notifyOn())
                .isEqualTo(Set.of(DsnNotify.FAILURE, DsnNotify.DELAY));
        assertThat(e.recipients().get(0).recipient().dsn().orcpt()).contains("rfc822;alice@example.test");
        assertThat(e.recipients().get(0).state().done()).isTrue();
        assertThat(e.recipients().get(1).state().done()).isFalse();
        assertThat(e.recipients().get(1).recipient().route()).isEqualTo(new Route.Relay("example.org"));
    }

    /** The SMTPUTF8 part of issue 3 point 8 over a raw socket: Debian's swaks 20201014.0 cannot send SMTPUTF8. */
    @Test
    void smtputf8AddressesArriveIntact() throws Exception {
        String id;
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            assertThat(say(c, "MAIL FROM:<José@exämple.test> SMTPUTF8")).startsWith("250");
            assertThat(say(c, "RCPT TO:<bob@example.test>")).startsWith("250");
            assertThat(say(c, "RCPT TO:<δοκιμή@example.org>")).startsWith("250");
            id = data(c, "From: José <José@exämple.test>\r\nTo: δοκιμή@example.org\r\n\r\nΓειά\r\n");
        }
        List<Path> bob = mx.awaitDelivered("bob", 1, Duration.ofSeconds(10));
        assertThat(bob).hasSize(1);
        assertThat(Files.readString(bob.get(0), StandardCharsets.UTF_8)).startsWith("Return-Path: <José@exämple.test>\n")
                .contains(" with UTF8SMTP id " + id).endsWith("From: José <José@exämple.test>\nTo: δοκιμή@example.org\n\nΓειά\n");
        Envelope e = deferred(id);
        assertThat(e.parameters().smtputf8()).isTrue();
        assertThat(e.recipients().get(1).recipient().address().toString()).isEqualTo("δοκιμή@example.org");
    }

    @Test
    void utf8RecipientWithoutSmtputf8IsRefused() throws Exception {
        try (RawSmtp c = greeted()) {
            say(c, "EHLO client.test");
            say(c, "MAIL FROM:<a@b.test>");
            assertThat(say(c, "RCPT TO:<δοκιμή@example.org>")).startsWith("553 5.6.7");
        }
    }

    @Test
    void idleClientTimesOut() throws Exception {
        try (TestMx quick = TestMx.start("timeouts:\n  command: 300ms\n  greet-pause: 0s\n"); RawSmtp c = new RawSmtp(quick.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            assertThat(c.reply()).startsWith("421 4.4.2");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void stopSends421ToOpenSessions() throws Exception {
        RawSmtp c = greeted();
        say(c, "EHLO client.test");
        mx.mx().close();
        assertThat(c.reply()).startsWith("421 4.3.2");
        c.close();
    }
}
