package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.cli.DnsCommandTest;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.testing.Await;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Rspamd;
import dev.mxd.testing.Spamd;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 7 end to end: swaks sends to an in-process mxd whose example.test filters with the real
 * clamd, spamd and Rspamd on loopback; the reply after DATA, the Maildir and the quarantine show
 * what each verdict did.
 */
@PeerTest
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class GatewayPeerTest {

    static Clamd clamd;
    static Spamd spamd;
    static Path work;
    static Path eicar;
    static Path gtube;
    static Path clean;

    /** A plain message as a client would send it; it must arrive byte for byte after mxd's Received header. */
    static final String CLEAN = "From: Carol <carol@client.test>\r\nTo: alice@example.test\r\nSubject: Lunch on Friday\r\n"
            + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <lunch@client.test>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n\r\nAre we still on for lunch on Friday at noon?\r\n\r\nCarol\r\n";

    static final String GTUBE = "From: Carol <carol@client.test>\r\nTo: alice@example.test\r\nSubject: Test spam\r\n"
            + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <gtube@client.test>\r\n\r\nThis is the GTUBE.\r\n\r\n"
            + Spamd.GTUBE + "\r\n";

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("mxd-gateway");
        eicar = Files.writeString(work.resolve("eicar.com"), Clamd.EICAR, StandardCharsets.US_ASCII);
        // swaks ends the data with CRLF . CRLF itself: without the file's last CRLF the client sends exactly CLEAN
        gtube = Files.writeString(work.resolve("gtube.eml"), GTUBE.substring(0, GTUBE.length() - 2), StandardCharsets.US_ASCII);
        clean = Files.writeString(work.resolve("clean.eml"), CLEAN.substring(0, CLEAN.length() - 2), StandardCharsets.US_ASCII);
        clamd = Clamd.start("25M");
        spamd = Spamd.start();
    }

    @AfterAll
    static void stop() {
        PeerProcess.closeAll(spamd, clamd);
        TestDirs.deleteTree(work);
    }

    static String filters(String clamdAddress, String onError) {
        return "filters:\n  clamd: {address: \"" + clamdAddress + "\"}\n  spamd: {address: \"" + spamd.address() + "\"}\n"
                + "  timeout: 30s\n  on-error: " + onError + "\n"
                + "delivery:\n  scan-interval: 1s\n";
    }

    static String filters() {
        return filters(clamd.address().toString(), "tempfail");
    }

    static String filter(String engines, String virus, String spam) {
        return "filter:\n  engines: [" + engines + "]\n  virus: " + virus + "\n" + (spam.isEmpty() ? "" : "  spam: " + spam + "\n");
    }

    /** swaks to alice@example.test; its whole transcript (a refusal is a non-zero exit, not a test failure). */
    static String swaks(TestMx mx, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("swaks", "--server", "127.0.0.1", "--port", String.valueOf(mx.smtp().getPort()),
                "--from", "carol@client.test", "--helo", "client.test", "--to", "alice@example.test", "--timeout", "120"));
        cmd.addAll(List.of(args));
        Path out = work.resolve("swaks-" + System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("swaks finished").isTrue();
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** The reply swaks got to the end of DATA: the server line after the lone dot it sent ("<-" or "<**" for an error). */
    static String dataReply(String transcript) {
        String[] lines = transcript.split("\r?\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].strip().equals("-> .")) {
                return lines[i + 1].replaceFirst("^\\s*<(-|\\*\\*)\\s*", "").strip();
            }
        }
        throw new AssertionError("no reply to the end of DATA in:\n" + transcript);
    }

    static String eicarMail(TestMx mx) throws Exception {
        return swaks(mx, "--h-Subject", "Test file", "--body", "See the file.", "--attach-type", "application/octet-stream",
                "--attach-name", "eicar.com", "--attach", "@" + eicar);
    }

    static void nothingDelivered(TestMx mx) throws Exception {
        Await.within(Duration.ofSeconds(20), Duration.ofMillis(50), () -> mx.mx().queue().idle());
        assertThat(mx.delivered("alice")).isEmpty();
        assertThat(mx.mx().spool().ids(dev.mxd.queue.QueueState.INCOMING)).isEmpty();
        assertThat(mx.mx().spool().ids(dev.mxd.queue.QueueState.DEFERRED)).isEmpty();
    }

    static String onlyDelivered(TestMx mx) throws Exception {
        List<Path> files = mx.awaitDelivered("alice", 1, Duration.ofSeconds(30));
        assertThat(files).hasSize(1);
        return Files.readString(files.get(0), StandardCharsets.UTF_8);
    }

    static Quarantine quarantine(TestMx mx) {
        return new Quarantine(mx.mx().config().dataDir());
    }

    @Test
    void eicarIsRejectedWithItsNameAndCleanMailPassesUnchanged() throws Exception {
        try (TestMx mx = TestMx.start(filter("clamd", "reject", ""), filters())) {
            String t = eicarMail(mx);
            assertThat(dataReply(t)).isEqualTo("554 5.7.1 Message refused: virus Local.EICAR.UNOFFICIAL found");
            nothingDelivered(mx);

            assertThat(dataReply(swaks(mx, "--data", "@" + clean))).startsWith("250 2.0.0 OK queued as");
            String delivered = onlyDelivered(mx);
            // clamd alone adds nothing: after mxd's Received header, the client's bytes exactly
            assertThat(delivered).startsWith("Return-Path: <carol@client.test>\nDelivered-To: alice@example.test\nReceived: from client.test")
                    .endsWith(" +0000\n" + MaildirText.lf(CLEAN));
            assertThat(delivered.split("\n\tby ", -1)).hasSize(2); // one Received header, then the message
        }
    }

    @Test
    void eicarQuarantinedIsHeldUntilReleasedThenDelivered() throws Exception {
        try (TestMx mx = TestMx.start(filter("clamd", "quarantine", ""), filters())) {
            assertThat(dataReply(eicarMail(mx))).startsWith("250 2.0.0 OK queued as");
            nothingDelivered(mx);
            List<QuarantineEntry> held = quarantine(mx).list(0, 10).entries();
            assertThat(held).singleElement().satisfies(e -> {
                assertThat(e.reason()).isEqualTo("virus Local.EICAR.UNOFFICIAL (clamd)");
                assertThat(e.sender()).isEqualTo("carol@client.test");
                assertThat(e.recipients()).containsExactly("alice@example.test");
            });

            Path config = Files.writeString(mx.dir().resolve("mxd.yaml"),
                    TestMx.yaml(mx.mx().config().dataDir(), 2525, 0, filter("clamd", "quarantine", "").strip(), filters()));
            DnsCommandTest.Run r = DnsCommandTest.run("quarantine", "release", "--config", config.toString(), held.get(0).id());
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(r.out()).contains("released:   queued as ");
            // the running server's queue manager finds it at its next deferred scan (1 s here), past the filter
            String delivered = onlyDelivered(mx);
            assertThat(delivered).containsPattern("Received: by \\S+ \\(mxd\\) id ").contains("Subject: Test file")
                    .contains("filename=\"eicar.com\"");
            assertThat(quarantine(mx).list(0, 10).total()).isZero();
            assertThat(quarantine(mx).pendingReleases()).isEmpty();
        }
    }

    @Test
    void eicarDiscardedIsAcknowledgedAndKeptNowhere() throws Exception {
        try (TestMx mx = TestMx.start(filter("clamd", "discard", ""), filters())) {
            assertThat(dataReply(eicarMail(mx))).startsWith("250 2.0.0 OK queued as");
            nothingDelivered(mx);
            assertThat(quarantine(mx).list(0, 10).total()).isZero();
        }
    }

    @Test
    void gtubeWithSpamdIsTaggedQuarantinedOrRejectedByThresholds() throws Exception {
        try (TestMx mx = TestMx.start(filter("clamd, spamd", "reject", "{tag: 5.0, subject-prefix: \"[SPAM] \"}"), filters())) {
            assertThat(dataReply(swaks(mx, "--data", "@" + gtube))).startsWith("250 2.0.0 OK queued as");
            String delivered = onlyDelivered(mx);
            assertThat(delivered).containsPattern("\nX-Spam-Status: Yes, score=\\d{3,4}\\.\\d required=5\\.0 engines=spamd\n")
                    .containsPattern("\nX-Spam-Score: \\d{3,4}\\.\\d\n")
                    .contains("\nSubject: [SPAM] Test spam\n");
        }
        try (TestMx mx = TestMx.start(filter("clamd, spamd", "reject", "{tag: 5.0, quarantine: 10.0}"), filters())) {
            assertThat(dataReply(swaks(mx, "--data", "@" + gtube))).startsWith("250 2.0.0 OK queued as");
            nothingDelivered(mx);
            assertThat(quarantine(mx).list(0, 10).entries()).singleElement()
                    .satisfies(e -> assertThat(e.reason()).matches("spam score \\d{3,4}\\.\\d"));
        }
        try (TestMx mx = TestMx.start(filter("clamd, spamd", "reject", "{tag: 5.0, quarantine: 10.0, reject: 15.0}"), filters())) {
            assertThat(dataReply(swaks(mx, "--data", "@" + gtube))).isEqualTo("550 5.7.1 Message refused as spam");
            nothingDelivered(mx);
            // a clean message under the same policy: only the X-Spam headers ahead of the Received header
            assertThat(dataReply(swaks(mx, "--data", "@" + clean))).startsWith("250 2.0.0 OK queued as");
            String delivered = onlyDelivered(mx);
            assertThat(delivered).contains("\nX-Spam-Status: No, score=").endsWith(" +0000\n" + MaildirText.lf(CLEAN));
        }
    }

    @Test
    void gtubeWithRspamdIsRejected() throws Exception {
        try (Rspamd rspamd = Rspamd.start();
             TestMx mx = TestMx.start(filter("rspamd", "reject", "{tag: 5.0, reject: 15.0}"),
                     "filters:\n  rspamd: {url: \"" + rspamd.url() + "\"}\n  timeout: 60s\n")) {
            assertThat(dataReply(swaks(mx, "--data", "@" + gtube))).isEqualTo("550 5.7.1 Message refused as spam");
            nothingDelivered(mx);
            assertThat(dataReply(swaks(mx, "--data", "@" + clean))).startsWith("250 2.0.0 OK queued as");
            assertThat(onlyDelivered(mx)).contains("X-Spam-Status: No, score=").contains("engines=rspamd").endsWith(" +0000\n" + MaildirText.lf(CLEAN));
        }
    }

    @Test
    void engineDownIsTempFailAndTheRetryArrivesOnceItIsBack() throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        try (TestMx mx = TestMx.start(filter("clamd", "reject", ""), filters("127.0.0.1:" + port, "tempfail"))) {
            assertThat(dataReply(swaks(mx, "--data", "@" + clean)))
                    .isEqualTo("451 4.7.1 Message not scanned (clamd unavailable); try again later");
            nothingDelivered(mx);
            try (Clamd back = Clamd.start("25M", port)) {
                // the client MTA retries later, as it must after a 4xx
                assertThat(dataReply(swaks(mx, "--data", "@" + clean))).startsWith("250 2.0.0 OK queued as");
                assertThat(onlyDelivered(mx)).endsWith(" +0000\n" + MaildirText.lf(CLEAN));
            }
        }
    }

    @Test
    void engineDownWithOnErrorAcceptDeliversMarkedSkipped() throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        try (TestMx mx = TestMx.start(filter("clamd", "reject", ""), filters("127.0.0.1:" + port, "accept"))) {
            assertThat(dataReply(swaks(mx, "--data", "@" + clean))).startsWith("250 2.0.0 OK queued as");
            assertThat(onlyDelivered(mx)).startsWith("Return-Path: <carol@client.test>\nDelivered-To: alice@example.test\n"
                    + "X-Mxd-Scan: skipped\nX-Mxd-Scan-Skipped: clamd refused\nReceived: ").endsWith(" +0000\n" + MaildirText.lf(CLEAN));
        }
    }
}
