package dev.mxd.filter;

import static dev.mxd.filter.OneFilterPolicyPerTransactionPeerTest.say;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.ops.QuarantineRelease;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A message received with SMTPUTF8 whose addresses are ASCII but whose headers are UTF-8, held by
 * the real clamd (EICAR attached) and released: the release must queue it with SMTPUTF8 again
 * (RFC 6531 §3.4), so it never goes raw to a next hop that does not offer the extension and its
 * bounce is message/global. The same message received without SMTPUTF8 is released without it.
 */
@PeerTest
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class QuarantineSmtputf8PeerTest {

    static Clamd clamd;

    @BeforeAll
    static void start() throws Exception {
        clamd = Clamd.start("25M");
    }

    @AfterAll
    static void stop() {
        PeerProcess.closeAll(clamd);
    }

    /** After TestMx's "example.org: role: backup": example.org quarantines viruses found by clamd. */
    static String quarantineViruses() {
        return "    filter:\n      engines: [clamd]\n      virus: quarantine\n"
                + "filters:\n  clamd: {address: \"" + clamd.address() + "\"}\n  timeout: 60s\n  on-error: tempfail\n";
    }

    static String send(TestMx mx, String mailFrom, String text) throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.reply()).startsWith("220");
            assertThat(say(c, "EHLO client.test")).startsWith("250");
            assertThat(say(c, mailFrom)).startsWith("250");
            assertThat(say(c, "RCPT TO:<rcpt@example.org>")).startsWith("250");
            assertThat(say(c, "DATA")).startsWith("354");
            c.send(text + ".\r\n");
            String reply = c.reply();
            say(c, "QUIT");
            return reply;
        }
    }

    /**
     * Releases an entry as {@code mxd quarantine release --config} does beside a server (the server
     * is stopped here, so the copy waits due now in deferred/); the released copy's MAIL parameters.
     */
    static MailParameters release(Path dir, String id) throws Exception {
        Path file = dir.resolve("mxd.yaml");
        MxdConfig config = ConfigLoader.parse(Files.readString(file), file);
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.attach(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease.Outcome o = new QuarantineRelease(new Quarantine(config.dataDir()), spool, new DomainPolicy(config), clock,
                QuarantineRelease.HandOver.DEFERRED_NOW).release(id);
        assertThat(o).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        Envelope e = spool.envelope(QueueState.DEFERRED, ((QuarantineRelease.Outcome.Queued) o).queueId());
        return e.parameters();
    }

    @Test
    void aMessageReceivedWithSmtputf8IsReleasedWithSmtputf8() throws Exception {
        String utf8Headers = TestMessages.eicarText().replace("Subject: Test file", "Subject: Grüße, Test file");
        Path dir = Files.createTempDirectory("mxd-quarantine-utf8");
        try {
            try (TestMx mx = TestMx.startIn(dir, quarantineViruses())) {
                assertThat(send(mx, "MAIL FROM:<carol@client.test> SMTPUTF8 BODY=8BITMIME", utf8Headers)).startsWith("250");
                assertThat(send(mx, "MAIL FROM:<dave@client.test>", TestMessages.eicarText())).startsWith("250");
            }
            List<QuarantineEntry> held = new Quarantine(dir.resolve("data")).list(0, 10).entries();
            assertThat(held).hasSize(2).allSatisfy(e -> assertThat(e.reason()).isEqualTo("virus Local.EICAR.UNOFFICIAL (clamd)"));
            QuarantineEntry utf8 = held.stream().filter(e -> e.sender().equals("carol@client.test")).findFirst().orElseThrow();
            QuarantineEntry ascii = held.stream().filter(e -> e.sender().equals("dave@client.test")).findFirst().orElseThrow();

            MailParameters released = release(dir, utf8.id());
            assertThat(released.smtputf8()).as("SMTPUTF8 of the released copy").isTrue();
            assertThat(released.body()).isEqualTo(MailParameters.Body.EIGHT_BIT_MIME);
            MailParameters plain = release(dir, ascii.id());
            assertThat(plain.smtputf8()).isFalse();
            assertThat(plain.body()).isEqualTo(MailParameters.Body.SEVEN_BIT);
        } finally {
            TestDirs.deleteTree(dir);
        }
    }
}
