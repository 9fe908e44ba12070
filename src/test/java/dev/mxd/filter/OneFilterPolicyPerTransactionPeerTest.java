package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixRelay;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13, case 3 end to end: example.test scans with the real clamd and quarantines or discards
 * viruses; other.test has no filter. A recipient of one may not join a transaction of the other
 * (452 4.5.3 at RCPT), so the unfiltered recipient's copy arrives through a transaction of its own
 * and is never held or dropped by example.test's policy. Domains with equal filters still share one.
 */
@PeerTest
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OneFilterPolicyPerTransactionPeerTest {

    static Clamd clamd;

    /** Appended after TestMx's domains: other.test (no filter) and same.test (example.test's filter), then the engines. */
    static String extra(String virus) {
        return "  other.test:\n    role: local\n    mailboxes: [carol]\n    aliases: {postmaster: carol}\n"
                + "  same.test:\n    role: local\n    mailboxes: [dave]\n    aliases: {postmaster: dave}\n"
                + "    filter:\n      engines: [clamd]\n      virus: " + virus + "\n"
                + "filters:\n  clamd: {address: \"" + clamd.address() + "\"}\n  timeout: 30s\n"
                + "delivery:\n  scan-interval: 1s\n";
    }

    static String filter(String virus) {
        return "filter:\n  engines: [clamd]\n  virus: " + virus + "\n";
    }

    @BeforeAll
    static void start() throws Exception {
        clamd = Clamd.start("25M");
    }

    @AfterAll
    static void stop() {
        PeerProcess.closeAll(clamd);
    }

    static String eicarMessage() {
        return TestMessages.eicarText();
    }

    static String say(RawSmtp c, String line) throws IOException {
        c.send(line + "\r\n");
        return c.reply();
    }

    static RawSmtp session(TestMx mx) throws IOException {
        RawSmtp c = new RawSmtp(mx.smtp());
        assertThat(c.reply()).startsWith("220");
        assertThat(say(c, "EHLO client.test")).startsWith("250");
        return c;
    }

    static String data(RawSmtp c, String text) throws IOException {
        assertThat(say(c, "DATA")).startsWith("354");
        c.send(text + ".\r\n");
        return c.reply();
    }

    static List<Path> maildir(TestMx mx, String domain, String mailbox) throws IOException {
        Path d = mx.mx().maildir(domain, mailbox).resolve("new");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    /** Up to 60 s: Postfix's own queue run decides when its retry comes, and a loaded machine delays it. */
    static List<Path> awaitMaildir(TestMx mx, String domain, String mailbox, int count) throws Exception {
        Await.within(Duration.ofSeconds(60), () -> maildir(mx, domain, mailbox).size() >= count);
        return maildir(mx, domain, mailbox);
    }

    static void awaitIdle(TestMx mx) throws Exception {
        Await.within(Duration.ofSeconds(20), () -> mx.mx().queue().idle() && mx.mx().spool().ids(QueueState.INCOMING).isEmpty());
    }

    static Quarantine quarantine(TestMx mx) {
        return new Quarantine(mx.mx().config().dataDir());
    }

    @Test
    void unfilteredRecipientIsRefusedWith452AndItsOwnTransactionIsDeliveredWhileTheFilteredOneIsQuarantined() throws Exception {
        try (TestMx mx = TestMx.start(filter("quarantine"), extra("quarantine"))) {
            try (RawSmtp c = session(mx)) {
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<carol@other.test>")).isEqualTo("452 4.5.3 too many recipients: this domain filters mail"
                        + " differently, send to it in a new transaction");
                assertThat(say(c, "RCPT TO:<dave@same.test>")).as("equal filter settings share the transaction").startsWith("250");
                assertThat(data(c, eicarMessage())).startsWith("250 2.0.0 OK queued as");
                // the client sends the refused recipient again, alone
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<carol@other.test>")).startsWith("250");
                assertThat(data(c, eicarMessage())).startsWith("250 2.0.0 OK queued as");
                assertThat(say(c, "QUIT")).startsWith("221");
            }
            List<Path> carol = awaitMaildir(mx, "other.test", "carol", 1);
            assertThat(carol).hasSize(1);
            assertThat(Files.readString(carol.get(0), StandardCharsets.US_ASCII)).contains("filename=\"eicar.com\"");
            awaitIdle(mx);
            assertThat(maildir(mx, "example.test", "alice")).isEmpty();
            assertThat(maildir(mx, "same.test", "dave")).isEmpty();
            assertThat(quarantine(mx).list(0, 10).entries()).singleElement().satisfies(e -> {
                assertThat(e.reason()).isEqualTo("virus " + Clamd.VIRUS_NAME + " (clamd)");
                assertThat(e.recipients()).containsExactly("alice@example.test", "dave@same.test");
            });
        }
    }

    @Test
    void filteredRecipientAfterAnUnfilteredOneIsRefusedAndItsOwnCopyIsDiscarded() throws Exception {
        try (TestMx mx = TestMx.start(filter("discard"), extra("discard"))) {
            try (RawSmtp c = session(mx)) {
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<carol@other.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<remote@elsewhere.test>")).as("relay for a trusted client: unfiltered too").startsWith("250");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("452 4.5.3 ");
                assertThat(data(c, eicarMessage())).startsWith("250 2.0.0 OK queued as");
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<remote@elsewhere.test>")).startsWith("452 4.5.3 ");
                assertThat(data(c, eicarMessage())).startsWith("250 2.0.0 OK queued as");
                // RSET forgets the policy of the recipients it drops
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).startsWith("250");
                assertThat(say(c, "RSET")).startsWith("250");
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<carol@other.test>")).startsWith("250");
                assertThat(say(c, "RSET")).startsWith("250");
            }
            assertThat(awaitMaildir(mx, "other.test", "carol", 1)).hasSize(1);
            assertThat(maildir(mx, "example.test", "alice")).isEmpty(); // discarded at DATA: never spooled
            assertThat(quarantine(mx).list(0, 10).total()).isZero();
        }
    }

    /**
     * A real Postfix as the sending MTA, one message to both domains: Postfix puts both recipients in
     * one transaction, defers the one mxd answers 452 and sends it again in a transaction of its own
     * at its next queue run (here within seconds: minimal_backoff_time and queue_run_delay are 1 s;
     * the defaults are 300 s). Each copy ends where its own domain's policy says.
     */
    @Test
    void postfixSendingToBothDomainsGetsEachCopyWhereItsOwnPolicySays() throws Exception {
        Path work = Files.createTempDirectory("mxd-postfix-split");
        try (TestMx mx = TestMx.start(filter("quarantine"), extra("quarantine"));
             PostfixRelay postfix = PostfixRelay.start(work, List.of("example.test", "other.test"), mx.smtp().getPort(),
                     List.of("minimal_backoff_time = 1s", "maximal_backoff_time = 2s", "queue_run_delay = 1s"))) {
            long sent;
            try (RawSmtp c = new RawSmtp(postfix.address())) {
                assertThat(c.code()).isEqualTo(220);
                assertThat(say(c, "EHLO client.test")).startsWith("250");
                assertThat(say(c, "MAIL FROM:<mallory@client.test>")).startsWith("250");
                assertThat(say(c, "RCPT TO:<alice@example.test>")).as(postfix.log()).startsWith("250");
                assertThat(say(c, "RCPT TO:<carol@other.test>")).as(postfix.log()).startsWith("250");
                assertThat(data(c, eicarMessage())).startsWith("250");
                sent = System.nanoTime();
                say(c, "QUIT");
            }
            List<Path> carol = awaitMaildir(mx, "other.test", "carol", 1);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            assertThat(carol).as(postfix.log()).hasSize(1);
            System.out.println("carol's copy arrived " + ms + " ms after Postfix accepted the message");
            assertThat(Files.readString(carol.get(0), StandardCharsets.US_ASCII)).contains("by relay.client.test (Postfix)")
                    .contains("filename=\"eicar.com\"");
            assertThat(quarantine(mx).list(0, 10).entries()).singleElement().satisfies(e -> {
                assertThat(e.reason()).isEqualTo("virus " + Clamd.VIRUS_NAME + " (clamd)");
                assertThat(e.recipients()).containsExactly("alice@example.test");
            });
            assertThat(maildir(mx, "example.test", "alice")).isEmpty();
            String log = postfix.log();
            assertThat(log).containsPattern("to=<carol@other.test>.*status=deferred \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 452 4\\.5\\.3 ")
                    .containsPattern("to=<carol@other.test>.*status=sent")
                    .containsPattern("to=<alice@example.test>.*status=sent");
        } finally {
            TestDirs.deleteTree(work);
        }
    }
}
