package dev.mxd.filter;

import static dev.mxd.filter.OneFilterPolicyPerTransactionPeerTest.say;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.Rspamd;
import dev.mxd.testing.Spamd;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13, case 5 end to end: an SMTPUTF8 sender and recipient (RFC 6531) over a raw SMTP session
 * to an mxd whose example.org (backup: every local part accepted) filters with the real rspamd,
 * clamd and spamd. Rspamd gets the envelope in HTTP headers, as UTF-8. A rule of the test's own
 * (MXD_UTF8_ENVELOPE, score 20) fires only when Rspamd parsed exactly the addresses the client
 * gave; Rspamd 3.4 (Debian 12) parses no 8-bit address there and logs the bytes it refused, which
 * the test then reads instead. clamd and spamd get no envelope, and a UTF-8 one must not keep them
 * from judging the message.
 */
@PeerTest
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class Smtputf8FilterPeerTest {

    static final String SENDER = "jösé@bücher.example";
    static final String RECIPIENT = "δοκιμή@example.org";

    static final String ENVELOPE_RULE = """
            rspamd_config:register_symbol({
              name = 'MXD_UTF8_ENVELOPE',
              score = 20.0,
              callback = function(task)
                local from = task:get_from('smtp')
                local rcpt = task:get_recipients('smtp')
                if from and from[1] and rcpt and rcpt[1] and #rcpt == 1
                    and from[1].addr == '%s' and rcpt[1].addr == '%s' then
                  return true
                end
                return false
              end,
            })
            """.formatted(SENDER, RECIPIENT);

    static Rspamd rspamd;
    static Clamd clamd;
    static Spamd spamd;

    @BeforeAll
    static void start() throws Exception {
        clamd = Clamd.start("25M");
        spamd = Spamd.start();
        rspamd = Rspamd.start(ENVELOPE_RULE);
    }

    @AfterAll
    static void stop() {
        PeerProcess.closeAll(rspamd, spamd, clamd);
    }

    /** Appended right after TestMx's "example.org: role: backup", so the filter is example.org's. */
    static String exampleOrgFilter(String engines, String onError, String engineSection) {
        return "    filter:\n      engines: [" + engines + "]\n      virus: reject\n      spam: {tag: 5.0, reject: 15.0}\n"
                + "filters:\n" + engineSection + "  timeout: 60s\n  on-error: " + onError + "\n";
    }

    /** One message from {@code from} to {@code to}; the reply to its end of DATA. */
    static String send(TestMx mx, String from, String to, String text) throws IOException {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.reply()).startsWith("220");
            assertThat(say(c, "EHLO client.test")).startsWith("250");
            assertThat(say(c, "MAIL FROM:<" + from + "> SMTPUTF8")).startsWith("250");
            assertThat(say(c, "RCPT TO:<" + to + ">")).startsWith("250");
            assertThat(say(c, "DATA")).startsWith("354");
            c.send(text + ".\r\n");
            String reply = c.reply();
            say(c, "QUIT");
            return reply;
        }
    }

    static String clean() {
        return "From: José <" + SENDER + ">\r\nTo: <" + RECIPIENT + ">\r\nSubject: Grüße\r\nDate: Thu, 26 Nov 2026 05:00:00 +0000\r\n"
                + "Message-ID: <utf8-1@bücher.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\nAre we still on for lunch on Friday at noon?\r\n";
    }

    static String gtube() {
        return "From: José <" + SENDER + ">\r\nTo: <" + RECIPIENT + ">\r\nSubject: Test spam\r\n"
                + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <utf8-2@bücher.example>\r\n\r\nThis is the GTUBE.\r\n\r\n"
                + Spamd.GTUBE + "\r\n";
    }

    @Test
    void rspamdScansAnSmtputf8EnvelopeAndGetsTheAddressesAsSent() throws Exception {
        String section = "  rspamd: {url: \"" + rspamd.url() + "\"}\n";
        for (String onError : new String[] {"accept", "tempfail"}) {
            try (TestMx mx = TestMx.start(exampleOrgFilter("rspamd", onError, section))) {
                // scanned, and Rspamd's verdict applied: no 452, and no "not scanned" either way
                assertThat(send(mx, SENDER, RECIPIENT, gtube())).as("on-error " + onError)
                        .isEqualTo("550 5.7.1 Message refused as spam");
                String clean = send(mx, SENDER, RECIPIENT, clean());
                if (rspamd.log().contains("bad from header")) {
                    // Rspamd 3.4 (Debian 12) parses no 8-bit address in From/Rcpt; it logs the bytes it got,
                    // which show that they arrived as the UTF-8 the client sent, and scans the message anyway
                    assertThat(rspamd.log()).contains("bad from header: '" + SENDER + "'")
                            .contains("bad rcpt address: '" + RECIPIENT + "'");
                    assertThat(clean).as("on-error " + onError).startsWith("250 2.0.0 OK queued as");
                } else {
                    // a Rspamd whose SMTP grammar takes UTF-8: the rule saw both addresses as sent (score 20)
                    assertThat(clean).as("on-error " + onError).isEqualTo("550 5.7.1 Message refused as spam");
                }
                // the same message from an ASCII sender: the rule does not fire, the message passes
                assertThat(send(mx, "jose@buecher.example", RECIPIENT, clean())).as("on-error " + onError)
                        .startsWith("250 2.0.0 OK queued as");
            }
        }
    }

    @Test
    void clamdAndSpamdJudgeMailWithAnSmtputf8Envelope() throws Exception {
        String section = "  clamd: {address: \"" + clamd.address() + "\"}\n  spamd: {address: \"" + spamd.address() + "\"}\n";
        try (TestMx mx = TestMx.start(exampleOrgFilter("clamd, spamd", "tempfail", section))) {
            assertThat(send(mx, SENDER, RECIPIENT, TestMessages.eicarText()))
                    .isEqualTo("554 5.7.1 Message refused: virus " + Clamd.VIRUS_NAME + " found");
            assertThat(send(mx, SENDER, RECIPIENT, gtube())).isEqualTo("550 5.7.1 Message refused as spam");
            assertThat(send(mx, SENDER, RECIPIENT, clean())).startsWith("250 2.0.0 OK queued as");
        }
    }
}
