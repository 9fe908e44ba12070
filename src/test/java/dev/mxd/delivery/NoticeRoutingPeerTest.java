package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.FakeSmtpServer;
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
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 case 2: notices are mail mxd makes itself, routed as local mail and never through the
 * inbound policy, so {@code trusted-networks: []} (127.0.0.1 not trusted) loses none of them. A
 * notice that cannot reach its sender reaches the postmaster (Postfix's double bounce); a notice
 * to the postmaster that fails is logged and nothing more is sent.
 *
 * <p>Mail for the backup domain example.org goes by MX to a real smtp-sink that refuses every
 * RCPT with 550. The senders' domains: remote.test, whose MX (a real smtp-sink) takes the bounce;
 * refusing.test, whose MX (a scripted server, to count the RCPTs it gets) refuses it with 550.
 */
@PeerTest
class NoticeRoutingPeerTest {

    static final String HARD = "127.0.13.1";
    static final String GOOD = "127.0.13.2";
    static final String REFUSER = "127.0.13.3";

    static Path dir;
    static int port;
    static MxdDnsServer dns;
    static FakeSmtpServer refuser;
    static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-notices");
        port = FreePort.tcpOn(HARD, GOOD, REFUSER);
        dns = MxdDnsServer.start(List.of(
                TestDirs.zone(dir, "dest.test", "hard IN A " + HARD, "good IN A " + GOOD, "refuser IN A " + REFUSER),
                TestDirs.zone(dir, "example.org", "@ MX 10 hard.dest.test."),
                TestDirs.zone(dir, "remote.test", "@ MX 10 good.dest.test."),
                TestDirs.zone(dir, "refusing.test", "@ MX 10 refuser.dest.test.")), new InetSocketAddress("127.0.0.1", 0));
        peers.add(DsnMail.refusingEveryRecipient(HARD, port));
        peers.add(SmtpSink.start(GOOD, port, "-d", dir.resolve("dumps") + "/%M."));
        refuser = FakeSmtpServer.startOn(new InetSocketAddress(REFUSER, port), 32, "220 refuser.dest.test ESMTP", List.of(),
                c -> c.toUpperCase(java.util.Locale.ROOT).startsWith("RCPT") ? "550 5.7.1 no bounces wanted here" : null);
        peers.add(refuser);
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /** 127.0.0.1 is not trusted; delivery by MX to the test's peers; retries within seconds. */
    static String untrusted(String more) {
        return "trusted-networks: []\n" + DsnMail.delivery(dns.address(), port, "{first: 1s, max: 2s, give-up: 1h}") + more;
    }

    static String send(TestMx mx, String from) throws Exception {
        return DsnMail.submit(mx.smtp(), from, "", "user@example.org", "", "marker body");
    }

    @Test
    void everyBounceReachesItsSenderOrThePostmasterWithoutTrust() throws Exception {
        try (TestMx mx = TestMx.start(untrusted(""))) {
            Path alice = mx.mx().maildir("example.test", "alice"); // also postmaster@example.test
            int refusedBefore = refuser.commands("RCPT").size();

            String local = send(mx, "alice@example.test");
            String nullSender = send(mx, "");
            String remote = send(mx, "carol@remote.test");
            String refusing = send(mx, "dave@refusing.test");
            String noSuchMailbox = send(mx, "nobody@example.test");

            // A remote sender: the DSN relayed by MX to its domain although 127.0.0.1 is not trusted.
            Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> dumpsWith(remote) == 1);
            // The null sender: the postmaster is told.
            assertThat(DsnMail.read(DsnMail.await(alice, nullSender, "Postmaster Copy: Undelivered Mail")))
                    .contains("Final-Recipient: rfc822; user@example.org").doesNotContain("marker body"); // the header only
            // A sender that leads to no mailbox here: the postmaster instead.
            DsnMail.await(alice, noSuchMailbox, "Postmaster Copy: Undelivered Mail");
            // A sender whose MX refuses the DSN: the postmaster gets the double bounce, naming that DSN's recipient,
            // with the refused DSN whole (it is what names the recipients the sender was never told of).
            Path doubleBounce = DsnMail.await(alice, refusing, "Postmaster Copy: Undelivered Mail");
            JsonNode parsed = DsnMail.parse(doubleBounce);
            assertThat(DsnMail.recipient(parsed).path("Final-Recipient").asText()).isEqualTo("rfc822; dave@refusing.test");
            assertThat(DsnMail.recipient(parsed).path("Diagnostic-Code").asText())
                    .isEqualTo("smtp; 550 5.7.1 no bounces wanted here");
            assertThat(parsed.path("returned").path("headers").path("Subject").asText())
                    .isEqualTo("Undelivered Mail Returned to Sender");

            // A local sender: the DSN in its Maildir.
            Path toAlice = DsnMail.await(alice, local, "Undelivered Mail Returned to Sender");
            assertThat(DsnMail.read(toAlice)).contains("Return-Path: <>", "Final-Recipient: rfc822; user@example.org");

            DsnMail.awaitEmptyQueue(mx);
            Thread.sleep(1500); // several scans: nothing more is sent about anything
            assertThat(refuser.commands("RCPT").subList(refusedBefore, refuser.commands("RCPT").size()))
                    .as("the DSN was offered once, nothing about the double bounce")
                    .containsExactly("RCPT TO:<dave@refusing.test>");
            assertThat(DsnMail.withMarker(alice, local)).hasSize(1);
            assertThat(DsnMail.withMarker(alice, nullSender)).hasSize(1);
            assertThat(DsnMail.withMarker(alice, refusing)).hasSize(1); // the double bounce, once
            assertThat(DsnMail.withMarker(alice, noSuchMailbox)).hasSize(1);
            assertThat(DsnMail.withMarker(alice, remote)).isEmpty();
            assertThat(dumpsWith(remote)).isEqualTo(1);
        }
    }

    @Test
    void aFailedNoticeToThePostmasterEndsThere() throws Exception {
        // The postmaster is at refusing.test: the double bounce fails too, and that is the end of it.
        try (TestMx mx = TestMx.start(untrusted("  double-bounce-recipient: pm@refusing.test\n"))) {
            int refusedBefore = refuser.commands("RCPT").size();
            send(mx, "");
            Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                    .until(() -> refuser.commands("RCPT").size() > refusedBefore);
            DsnMail.awaitEmptyQueue(mx);
            Thread.sleep(1500); // several scans: a second notice would be sent now (nothing to wait for)
            assertThat(refuser.commands("RCPT").subList(refusedBefore, refuser.commands("RCPT").size()))
                    .containsExactly("RCPT TO:<pm@refusing.test>");
            assertThat(mx.delivered("alice")).isEmpty();
            assertThat(mx.delivered("bob")).isEmpty();
        }
    }

    @Test
    void withoutALocalDomainThePostmasterNoticeGoesToAMaildirOfThisHost() throws Exception {
        Path data = Files.createTempDirectory("mxd-no-local");
        int smtp = FreePort.tcpAndUdp("127.0.0.1");
        String yaml = "hostname: mx9.example.test\nlisten:\n  smtp: [\"127.0.0.1:" + smtp + "\"]\ndata-dir: " + data + "\n"
                + "domains:\n  example.org:\n    role: backup\ntimeouts:\n  greet-pause: 0s\n" + untrusted("");
        try (dev.mxd.node.ReceivingMx mx = dev.mxd.node.ReceivingMx.start(
                dev.mxd.config.ConfigLoader.parse(yaml, data.resolve("mxd.yaml")))) {
            String marker = DsnMail.submit(mx.smtpAddresses().get(0), "", "", "user@example.org", "", "marker body");
            Path postmaster = data.resolve("mail/mx9.example.test/postmaster/Maildir");
            Path notice = DsnMail.await(postmaster, marker, "Postmaster Copy: Undelivered Mail");
            assertThat(DsnMail.recipient(DsnMail.parse(notice)).path("Final-Recipient").asText())
                    .isEqualTo("rfc822; user@example.org");
            // RFC 5321 §4.5.1: <Postmaster> without a domain is taken here too (it was 550), and lands in the same Maildir
            String bare = DsnMail.submit(mx.smtpAddresses().get(0), "someone@client.test", "", "Postmaster", "", "to the postmaster");
            Path delivered = DsnMail.await(postmaster, bare, "Subject: test " + bare);
            assertThat(DsnMail.read(delivered)).contains("Delivered-To: postmaster@mx9.example.test").contains("to the postmaster");
        } finally {
            TestDirs.deleteTree(data);
        }
    }

    static long dumpsWith(String marker) throws Exception {
        Path dumps = dir.resolve("dumps");
        if (!Files.isDirectory(dumps)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dumps)) {
            return s.filter(f -> DsnMail.read(f).contains(marker) && DsnMail.read(f).contains("Undelivered Mail Returned to Sender"))
                    .count();
        }
    }
}
