package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.config.Logging;
import dev.mxd.testing.Await;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The log of a message's life, line by line in Postfix's form (docs/operations.md): acceptance
 * (client, from/size/nrcpt), one line per recipient outcome with relay, delay, dsn and status,
 * and removal. A remote recipient goes by MX (mxd's own DNS server in-process) to a fake SMTP
 * server, so the relay field is {@code host[address]:port}.
 */
class DeliveryLogTest {

    private Path dir;
    private MxdDnsServer dns;
    private FakeSmtpServer far;
    private TestMx mx;
    private LogCapture lines;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mxd-log");
        Path zone = Files.writeString(dir.resolve("far.test.zone"), String.join("\n", "$ORIGIN far.test.", "$TTL 300",
                "@ IN SOA ns.far.test. hostmaster.far.test. ( 1 3600 600 86400 60 )", "@ IN NS ns", "ns IN A 127.0.0.1",
                "@ MX 10 mx", "mx IN A 127.0.0.1", "") + "\n");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        far = FakeSmtpServer.start("220 mx.far.test ESMTP", List.of("PIPELINING"),
                c -> c.equals(".") ? "250 2.0.0 Ok: queued as FAR1" : null);
        lines = LogCapture.start(Level.INFO);
        mx = TestMx.start("dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + far.address().getPort() + "\n");
    }

    @AfterEach
    void stop() throws Exception {
        mx.close();
        lines.close();
        far.close();
        dns.close();
        TestDirs.deleteTree(dir);
    }

    private List<String> linesOf(String id) {
        return lines.lines().stream().filter(l -> l.startsWith(id + ": ")).toList();
    }

    private List<String> awaitLines(String id, String last) throws InterruptedException {
        Await.within(Duration.ofSeconds(60), () -> linesOf(id).stream().anyMatch(l -> l.equals(last)));
        return linesOf(id);
    }

    @Test
    void localDeliveryLogsAcceptanceOutcomeAndRemoval() throws Exception {
        String id = mx.sendTo("alice@example.test");
        List<String> log = awaitLines(id, id + ": removed");
        long size = Long.parseLong(log.get(1).replaceAll(".*size=(\\d+),.*", "$1"));
        assertThat(size).isGreaterThan(30);
        assertThat(log).hasSize(4);
        assertThat(log.get(0)).isEqualTo(id + ": client=unknown[127.0.0.1], helo=<client.test>");
        assertThat(log.get(1)).isEqualTo(id + ": from=<sender@client.test>, size=" + size + ", nrcpt=1 (queue incoming)");
        assertThat(log.get(2)).matches(id + ": to=<alice@example.test>, relay=local, delay=\\d+\\.\\d\\d, dsn=2\\.0\\.0,"
                + " status=sent \\(delivered to maildir\\)");
        assertThat(log.get(3)).isEqualTo(id + ": removed");
    }

    /**
     * A bounce mxd writes has Postfix's lines for a queued message but no client= line, as Postfix's bounces have none:
     * it was logged as client=unknown[127.0.0.1], helo=<localhost>, which log tools count as mail received.
     */
    @Test
    void aBounceHasNoClientLine() throws Exception {
        String id = mx.sendTo("nobody@nx.far.test"); // NXDOMAIN: bounced at once
        Await.within(Duration.ofSeconds(60), () -> linesOf(id).stream().anyMatch(l -> l.contains("sender non-delivery notification: ")));
        String line = linesOf(id).stream().filter(l -> l.contains("sender non-delivery notification: ")).findFirst().orElseThrow();
        String bounce = line.substring(line.lastIndexOf(' ') + 1);
        Await.within(Duration.ofSeconds(10), () -> linesOf(bounce).stream().anyMatch(l -> l.startsWith(bounce + ": from=<>")));
        assertThat(linesOf(bounce)).noneMatch(l -> l.contains("client=")).anySatisfy(l -> assertThat(l).startsWith(bounce + ": from=<>, size="));
        assertThat(linesOf(id)).anySatisfy(l -> assertThat(l).startsWith(id + ": client=unknown[127.0.0.1], helo=<client.test>"));
    }

    /**
     * Mail to an alias is logged for each mailbox it reached, with the alias as orig_to=, as Postfix's local writes it:
     * one line under the alias alone never named the mailboxes, so a search for bob's address missed the delivery.
     */
    @Test
    void anAliasIsLoggedForEachMailboxWithOrigTo() throws Exception {
        String id = mx.sendTo("team@example.test");
        List<String> log = awaitLines(id, id + ": removed");
        assertThat(log).filteredOn(l -> l.contains(" to=<")).satisfiesExactly(
                l -> assertThat(l).matches(id + ": to=<alice@example\\.test>, orig_to=<team@example\\.test>, relay=local, delay=\\d+\\.\\d\\d,"
                        + " dsn=2\\.0\\.0, status=sent \\(delivered to maildir\\)"),
                l -> assertThat(l).startsWith(id + ": to=<bob@example.test>, orig_to=<team@example.test>, relay=local, "));
        String plain = mx.sendTo("bob@example.test");
        assertThat(awaitLines(plain, plain + ": removed")).anySatisfy(l -> assertThat(l).startsWith(plain + ": to=<bob@example.test>, relay=local, "))
                .noneMatch(l -> l.contains("orig_to="));
    }

    /**
     * Postfix's cleanup line, by which an operator finds a message from the sender's copy: the first Message-ID field
     * of the header section, unfolded and escaped; none for a text without one (a Message-ID line in the body is text).
     */
    @Test
    void theMessageIdIsLoggedAsPostfixsCleanupLogsIt() throws Exception {
        String id = mx.send("", "alice@example.test",
                "Subject: traced\r\nMessage-ID:\r\n <m1.\u0007x@client.test>\r\nMessage-Id: <second@client.test>\r\n\r\nbody\r\n"
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        List<String> log = awaitLines(id, id + ": removed");
        assertThat(log).hasSize(5);
        assertThat(log.get(1)).isEqualTo(id + ": message-id=<m1.\\x07x@client.test>");
        String inBody = mx.send("", "alice@example.test", "Subject: no id\r\n\r\nMessage-ID: <body@client.test>\r\n"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(awaitLines(inBody, inBody + ": removed")).noneMatch(l -> l.contains("message-id="));
    }

    @Test
    void remoteDeliveryNamesTheRelayHostAddressAndPort() throws Exception {
        String id = mx.sendTo("bob@far.test");
        List<String> log = awaitLines(id, id + ": removed");
        assertThat(log).anySatisfy(l -> assertThat(l).matches(id + ": to=<bob@far\\.test>, relay=mx\\.far\\.test\\[127\\.0\\.0\\.1]:"
                + far.address().getPort() + ", delay=\\d+\\.\\d\\d, dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 Ok: queued as FAR1\\)"));
        assertThat(log.get(log.size() - 1)).isEqualTo(id + ": removed");
    }

    @Test
    void logFileAndLevelFromTheConfiguration() throws Exception {
        Path file = dir.resolve("logs/mxd.log");
        try {
            LogSetup.apply(new Logging(Logging.Level.WARN, Optional.of(file)), Optional.empty());
            org.slf4j.Logger queue = LoggerFactory.getLogger("dev.mxd.queue.QueueManager");
            queue.info("ABC123: to=<x@y.test>, status=sent (not written at warn)");
            queue.warn("ABC123: written at warn");
            // Only this test's lines: nodes of tests running beside it in the JVM may log WARN lines to the same root logger.
            assertThat(ours(file)).singleElement().satisfies(l -> assertThat(l)
                    .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z WARN  QueueManager: ABC123: written at warn"));
            LogSetup.apply(new Logging(Logging.Level.DEBUG, Optional.of(file)), Optional.of("error"));
            queue.warn("ABC123: not written: MXD_LOG_LEVEL=error wins");
            assertThat(ours(file)).hasSize(1);
        } finally {
            restoreDefaultLogging();
        }
    }

    /**
     * SIGHUP reopens the log file (logrotate) while other threads log: the appender was stopped and
     * started again, and logback drops what is logged to a stopped appender, so queue-id and
     * delivery lines of that moment were lost. Now a new appender starts before the old one goes.
     */
    @Test
    void reopeningTheLogLosesNoLine() throws Exception {
        Path file = dir.resolve("logs/reopen.log");
        try {
            LogSetup.apply(new Logging(Logging.Level.INFO, Optional.of(file)), Optional.empty());
            org.slf4j.Logger queue = LoggerFactory.getLogger("dev.mxd.queue.QueueManager");
            int lines = 20_000;
            Thread writer = new Thread(() -> {
                for (int i = 0; i < lines; i++) {
                    queue.info("ABC123: line {}", i);
                }
            });
            writer.start();
            while (writer.isAlive()) {
                LogSetup.reopen();
            }
            writer.join();
            assertThat(ours(file).stream().distinct().count()).as("distinct lines written").isEqualTo(lines);
        } finally {
            restoreDefaultLogging();
        }
    }

    /** MXD_LOG_LEVEL that is no level was taken as INFO in silence; now the file's level is used, and a warning says why. */
    @Test
    void anUnknownLevelInTheEnvironmentIsSaid() throws Exception {
        Path file = dir.resolve("logs/level.log");
        try {
            LogSetup.apply(new Logging(Logging.Level.WARN, Optional.of(file)), Optional.of("DEBUGG"));
            assertThat(Files.readAllLines(file)).anySatisfy(l -> assertThat(l)
                    .contains("MXD_LOG_LEVEL=DEBUGG is no level (TRACE, DEBUG, INFO, WARN, ERROR or OFF): log.level WARN is used"));
            LogSetup.apply(new Logging(Logging.Level.INFO, Optional.of(file)), Optional.of("debug"));
            assertThat(Files.readAllLines(file)).anySatisfy(l -> assertThat(l)
                    .contains("MXD_LOG_LEVEL=DEBUG overrides log.level INFO of the configuration"));
        } finally {
            restoreDefaultLogging();
        }
    }

    /**
     * A log file that cannot be opened stops the start with the reason (mxd serve: exit 78), where logback
     * left its appender stopped and mxd ran with no log at all. (A directory in the file's place: root, which
     * the CI runs as, may write into any directory whatever its mode.)
     */
    @Test
    void aLogFileThatCannotBeOpenedIsAnErrorNotASilentLog() throws Exception {
        Path notAFile = Files.createDirectories(dir.resolve("logs-dir/mxd.log"));
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                    LogSetup.apply(new Logging(Logging.Level.INFO, Optional.of(notAFile)), Optional.empty()))
                    .isInstanceOf(java.io.IOException.class).hasMessageContaining(notAFile + " is a directory; name a file in it");
        } finally {
            restoreDefaultLogging();
        }
    }

    private static List<String> ours(Path file) throws java.io.IOException {
        return Files.readAllLines(file).stream().filter(l -> l.contains("ABC123")).toList();
    }

    static void restoreDefaultLogging() throws Exception {
        dev.mxd.testing.TestLogging.restoreDefault();
    }
}
