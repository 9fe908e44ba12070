package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import ch.qos.logback.classic.Level;
import dev.mxd.testing.Await;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 point 6: mxd as backup MX (preference 20) of example.org verifies recipients by a callout
 * to the primary (preference 10), a real Postfix that knows only some users (relay_recipient_maps),
 * found through a real DNS server (Knot). down.example's primary has nothing listening.
 */
@PeerTest
class RecipientCalloutPeerTest {

    static final String PRIMARY = "127.0.0.91";
    static final String DEAD = "127.0.0.92";

    static Path dir;
    static KnotServer knot;
    static PostfixServer primary;
    static TestMx backup;
    static String backupConfig;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-callout");
        int port = FreePort.tcpOn(PRIMARY, DEAD);
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put("example.org", TestDirs.zone(dir, "example.org", "@ MX 10 primary", "@ MX 20 mx1.example.test.",
                "primary IN A " + PRIMARY));
        zones.put("down.example", TestDirs.zone(dir, "down.example", "@ MX 10 primary", "@ MX 20 mx1.example.test.",
                "primary IN A " + DEAD));
        knot = KnotServer.start(zones);
        primary = PostfixServer.start(PRIMARY + ":" + port, "example.org", "[127.0.0.1]:9", List.of(
                "relay_recipient_maps = inline:{ {alice@example.org = ok}, {bob@example.org = ok}, {carol@example.org = ok}, "
                        + "{dave@example.org = ok} }",
                "smtpd_delay_reject = no"));
        // The rest of example.org's settings (TestMx writes "example.org: role: backup"), then a second backup domain.
        backupConfig = "    verify: callout\n"
                + "  down.example:\n    role: backup\n    verify: callout\n"
                + "dns:\n  servers: [\"127.0.0.1:" + knot.port() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n";
        backup = TestMx.start(backupConfig);
    }

    @AfterAll
    static void stop() throws Exception {
        if (backup != null) {
            backup.close();
        }
        if (primary != null) {
            primary.close();
        }
        if (knot != null) {
            knot.close();
        }
        TestDirs.deleteTree(dir);
    }

    /**
     * The replies to each RCPT of {@code recipients}, sent in one pipelined write with EHLO, MAIL and
     * DATA; a transaction that gets 354 is abandoned (the connection closes before the text ends).
     */
    static List<String> rcpts(String... recipients) throws Exception {
        return rcpts(backup, recipients);
    }

    static List<String> rcpts(TestMx mx, String... recipients) throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            StringBuilder batch = new StringBuilder("EHLO client.test\r\nMAIL FROM:<sender@client.test>\r\n");
            for (String r : recipients) {
                batch.append("RCPT TO:<").append(r).append(">\r\n");
            }
            batch.append("DATA\r\n");
            c.send(batch.toString());
            List<String> replies = new ArrayList<>();
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("250");
            for (int i = 0; i < recipients.length; i++) {
                replies.add(c.reply());
            }
            String data = c.reply();
            if (!data.startsWith("354")) {
                assertThat(data).startsWith("503"); // no valid recipients
                c.send("QUIT\r\n");
            }
            return replies;
        }
    }

    static long primaryConnections() {
        return primary.log().lines().filter(l -> l.contains("connect from") && !l.contains("disconnect from")).count();
    }

    @Test
    void aUserThePrimaryKnowsIsAcceptedAndOneItRefusesGets550AtRcptWithNothingQueued() throws Exception {
        assertThat(rcpts("alice@example.org")).singleElement().asString().startsWith("250 ");
        List<String> refused;
        try (LogCapture log = LogCapture.start(Level.INFO)) {
            refused = rcpts("nobody@example.org");
            // A normal RCPT refusal: the NOQUEUE line with the whole reply, and the refusal counters.
            assertThat(Await.within(Duration.ofSeconds(5), () -> log.lines().stream().anyMatch(l ->
                    l.startsWith("NOQUEUE: reject: RCPT from ") // the client's name depends on reverse DNS
                            && l.contains("[127.0.0.1]: 550 5.1.1 <nobody@example.org>: recipient address rejected")
                            && l.contains("to=<nobody@example.org>")))).as(String.join("\n", log.lines())).isTrue();
        }
        assertThat(refused).singleElement().asString()
                .startsWith("550 5.1.1 <nobody@example.org>: recipient address rejected")
                .contains("the primary MX said: 550 5.1.1");
        assertThat(backup.mx().metrics().scrape().lines()
                .filter(l -> l.startsWith("mxd_smtp_rejections_total") && l.contains("stage=\"rcpt\"") && l.contains("code=\"550\"")))
                .isNotEmpty();
        for (QueueState state : QueueState.values()) {
            assertThat(backup.mx().spool().ids(state)).as("queued at the backup in " + state).isEmpty();
        }
    }

    @Test
    void aSecondRcptForAnAddressIsAnsweredFromTheCacheEvenAfterAReloadWithoutAskingThePrimary() throws Exception {
        assertThat(rcpts("bob@example.org", "ghost@example.org")).satisfiesExactly(
                r -> assertThat(r).startsWith("250 "), r -> assertThat(r).startsWith("550 5.1.1"));
        Await.within(Duration.ofSeconds(10), () -> primaryConnections() >= 2);
        assertThat(backup.mx().reload(backup.configFile())).isTrue(); // the answers outlive a reload (SIGHUP)
        long before = primaryConnections();
        assertThat(rcpts("bob@example.org", "ghost@example.org")).satisfiesExactly(
                r -> assertThat(r).startsWith("250 "), r -> assertThat(r).startsWith("550 5.1.1"));
        // Postfix writes its log through postlogd: give a connection that did happen time to show.
        Await.within(Duration.ofSeconds(3), () -> primaryConnections() > before);
        assertThat(primaryConnections()).as(primary.log()).isEqualTo(before);
    }

    /**
     * The answers outlive a restart, as Postfix's verify cache on disk does: a recipient the primary confirmed is taken
     * from the cache after the backup restarts, without asking the primary, so a backup restarted during the
     * primary's outage still takes its mail (before, every recipient got 450 "cannot verify now" after a restart).
     */
    @Test
    void theAnswersOutliveARestartOfTheBackup() throws Exception {
        Path own = Files.createTempDirectory("mxd-callout-restart");
        try {
            try (TestMx first = TestMx.startIn(own, backupConfig)) {
                assertThat(rcpts(first, "dave@example.org")).singleElement().asString().startsWith("250 ");
            }
            Await.within(Duration.ofSeconds(10), () -> primaryConnections() >= 1);
            assertThat(own.resolve("data").resolve("verify-cache")).content().contains("dave@example.org\t");
            long before = primaryConnections();
            try (TestMx again = TestMx.startIn(own, backupConfig)) {
                assertThat(rcpts(again, "dave@example.org")).singleElement().asString().startsWith("250 ");
            }
            Await.within(Duration.ofSeconds(3), () -> primaryConnections() > before);
            assertThat(primaryConnections()).as("answered from the file, the primary not asked").isEqualTo(before);
        } finally {
            TestDirs.deleteTree(own);
        }
    }

    /**
     * A reload that moves the route the answers were asked of: they are forgotten, and the next
     * RCPT asks again (an old next hop's refusal stood for hours, its acceptance for days, whatever
     * the new one said). The same primary behind an explicit route here: the route changed.
     */
    @Test
    void aReloadThatMovesTheRouteForgetsTheAnswers() throws Exception {
        assertThat(rcpts("carol@example.org")).singleElement().asString().startsWith("250 ");
        Await.within(Duration.ofSeconds(10), () -> primaryConnections() >= 1);
        Path file = backup.configFile();
        String before = Files.readString(file);
        int port = backup.mx().config().delivery().port();
        try {
            Files.writeString(file, before.replace("delivery:\n", "delivery:\n  routes:\n    example.org: \"[" + PRIMARY + "]:" + port + "\"\n"));
            assertThat(backup.mx().reload(file)).isTrue();
            long asked = primaryConnections();
            assertThat(rcpts("carol@example.org")).singleElement().asString().startsWith("250 ");
            assertThat(Await.within(Duration.ofSeconds(10), () -> primaryConnections() > asked)).as("asked again").isTrue();
        } finally {
            Files.writeString(file, before);
            assertThat(backup.mx().reload(file)).isTrue();
        }
    }

    @Test
    void pipelinedRecipientsAreAnsweredInOrder() throws Exception {
        assertThat(rcpts("carol@example.org", "nobody1@example.org", "dave@example.org", "nobody2@example.org",
                "postmaster@example.org")).satisfiesExactly(
                r -> assertThat(r).startsWith("250 "),
                r -> assertThat(r).startsWith("550 5.1.1 <nobody1@example.org>"),
                r -> assertThat(r).startsWith("250 "),
                r -> assertThat(r).startsWith("550 5.1.1 <nobody2@example.org>"),
                r -> assertThat(r).startsWith("250 "));
    }

    @Test
    void whenNoBetterMxAnswersTheRecipientGets450() throws Exception {
        assertThat(rcpts("anyone@down.example")).singleElement().asString()
                .startsWith("450 4.1.1 <anyone@down.example>: recipient address rejected: cannot verify now");
    }
}
