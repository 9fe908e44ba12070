package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Processes;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Queue control after an outage (issue 15, point 3), all of it real: {@code mxd serve} as its own
 * JVM with the default retry and host-retry settings (message retry 5 min, host retry 60 s), the
 * {@code mxd queue} command as another JVM, mxd's DNS server publishing the MX records, and
 * smtp-sink as each domain's primary MX on a loopback address where nothing listens at first.
 * The backup MX of each domain never comes up, so every MX host is passed over after the first
 * attempt; only the operator's command brings the mail before minutes have passed.
 */
@PeerTest
class QueueControlTest {

    static final String PRIMARY_ONE = "127.0.0.91";
    static final String PRIMARY_TWO = "127.0.0.92";
    static final String BACKUP = "127.0.0.93";
    static final String ONE = "one.qctl.test";
    static final String TWO = "two.qctl.test";

    Path dir;
    Path config;
    int port;
    MxdDnsServer dns;
    MxdProcess serve;
    final List<AutoCloseable> sinks = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-qctl");
        port = FreePort.tcpOn(PRIMARY_ONE, PRIMARY_TWO, BACKUP);
        Path zone = TestDirs.zone(dir, "qctl.test", "mx-one IN A " + PRIMARY_ONE, "mx-two IN A " + PRIMARY_TWO,
                "backup IN A " + BACKUP, "one MX 10 mx-one", "one MX 20 backup", "two MX 10 mx-two", "two MX 20 backup");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        int smtp = FreePort.tcpAndUdp("127.0.0.1");
        int admin = FreePort.tcpAndUdp("127.0.0.1");
        // Nothing about retries: the defaults are what an operator meets.
        config = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(dir.resolve("data"), smtp, admin, "",
                "timeouts:\n  greet-pause: 0s\n"
                        + "dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                        + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n"));
        serve = MxdProcess.serve(config, dir.resolve("serve.log"));
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (serve != null) {
                serve.close();
            }
            for (AutoCloseable s : sinks) {
                s.close();
            }
            dns.close();
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    @Test
    void flushAfterThePrimaryComesBackDeliversAtOnce() throws Exception {
        String id = send("user@" + ONE);
        awaitDeferred(id);
        assertThat(postponed()).as("both MX hosts are passed over now").contains(PRIMARY_ONE, BACKUP);
        Cli table = cli("queue", "hosts", "--config", config.toString());
        assertThat(table.out()).as("times to the second: a column's width, no nanoseconds").contains(PRIMARY_ONE)
                .containsPattern("T\\d\\d:\\d\\d:\\d\\dZ ").doesNotContainPattern(":\\d\\d\\.\\d+Z");

        sink(PRIMARY_ONE); // the primary is back; its retry time is a minute away
        Cli flush = cli("queue", "flush", "--config", config.toString());
        assertThat(flush.status()).as(flush.err()).isZero();
        assertThat(flush.out()).isEqualTo("1 deferred message(s) due now" + System.lineSeparator());

        assertThat(Await.within(Duration.ofSeconds(10), () -> arrived(PRIMARY_ONE, "user@" + ONE) == 1))
                .as("delivered to the primary within seconds of the flush; log:%n%s", Processes.log(dir.resolve("serve.log"))).isTrue();
        assertThat(Await.within(Duration.ofSeconds(10), () -> !inSpool(id))).isTrue();
    }

    @Test
    void flushOfOneDomainMovesOnlyThatDomainsMail() throws Exception {
        String one = send("user@" + ONE);
        String two = send("user@" + TWO);
        awaitDeferred(one);
        awaitDeferred(two);
        Instant twoDue = Files.getLastModifiedTime(envelope("deferred", two)).toInstant();
        sink(PRIMARY_ONE);
        sink(PRIMARY_TWO); // both primaries are back: only the flush decides which one gets mail

        Cli flush = cli("queue", "flush", "--domain", ONE.toUpperCase() + ".", "--config", config.toString());
        assertThat(flush.status()).as(flush.err()).isZero();
        assertThat(flush.out()).isEqualTo("1 deferred message(s) to " + ONE + " due now" + System.lineSeparator());

        assertThat(Await.within(Duration.ofSeconds(10), () -> arrived(PRIMARY_ONE, "user@" + ONE) == 1)).isTrue();
        assertThat(Await.within(Duration.ofSeconds(10), () -> !inSpool(one))).isTrue();
        assertThat(arrived(PRIMARY_TWO, "user@" + TWO)).as("the other domain's mail stays queued").isZero();
        assertThat(Files.getLastModifiedTime(envelope("deferred", two)).toInstant()).as("its next attempt unchanged").isEqualTo(twoDue);
        assertThat(postponed()).as("the other domain's primary is still passed over").contains(PRIMARY_TWO).doesNotContain(PRIMARY_ONE);

        Cli bad = cli("queue", "flush", "--domain", "no domain", "--config", config.toString());
        assertThat(bad.status()).isEqualTo(64);
        assertThat(bad.err()).contains("is not a domain name");
        assertThat(cli("queue", "flush", one, "--domain", ONE, "--config", config.toString()).status()).isEqualTo(64);
    }

    @Test
    void hostsResetLetsNewMailThroughToAHostThatCameBack() throws Exception {
        String first = send("first@" + ONE);
        awaitDeferred(first);
        sink(PRIMARY_ONE);
        // Without a reset, new mail is passed over too: every MX host failed within the last minute.
        String second = send("second@" + ONE);
        assertThat(Await.within(Duration.ofSeconds(10), () -> deferred(second))).isTrue();
        assertThat(Files.readString(envelope("deferred", second))).contains("failed recently and is passed over");

        Cli none = cli("queue", "hosts", "--reset", "mx.nowhere.test", "--config", config.toString());
        assertThat(none.status()).isEqualTo(1);
        assertThat(none.err()).contains("no MX host matching mx.nowhere.test has failed");

        Cli reset = cli("queue", "hosts", "--reset", "mx-one." + "qctl.test", "--config", config.toString());
        assertThat(reset.status()).as(reset.err()).isZero();
        assertThat(reset.out()).isEqualTo("mx-one.qctl.test[" + PRIMARY_ONE + "]:" + port + ": host status reset" + System.lineSeparator()
                + "1 MX address(es) will be tried at the next attempt" + System.lineSeparator());
        assertThat(postponed()).containsExactly(BACKUP);

        String third = send("third@" + ONE);
        assertThat(Await.within(Duration.ofSeconds(10), () -> arrived(PRIMARY_ONE, "third@" + ONE) == 1))
                .as("new mail goes to the primary at once; log:%n%s", Processes.log(dir.resolve("serve.log"))).isTrue();
        assertThat(Await.within(Duration.ofSeconds(10), () -> !inSpool(third))).isTrue();
        assertThat(arrived(PRIMARY_ONE, "second@" + ONE)).as("a reset makes no deferred mail due").isZero();

        Cli all = cli("queue", "hosts", "--reset", "--config", config.toString());
        assertThat(all.status()).as(all.err()).isZero();
        assertThat(all.out()).contains("backup.qctl.test[" + BACKUP + "]:" + port + ": host status reset")
                .endsWith("1 MX address(es) will be tried at the next attempt" + System.lineSeparator());
        assertThat(postponed()).isEmpty();
    }

    // --- helpers

    /** The addresses {@code mxd queue hosts --json} lists as passed over or failed. */
    List<String> postponed() throws Exception {
        Cli hosts = cli("queue", "hosts", "--json", "--config", config.toString());
        assertThat(hosts.status()).as(hosts.err()).isZero();
        List<String> out = new ArrayList<>();
        for (JsonNode h : new ObjectMapper().readTree(hosts.out()).path("hosts")) {
            if (!h.path("state").asText().equals("up")) {
                String a = h.path("address").asText();
                out.add(a.substring(a.indexOf('[') + 1, a.indexOf(']')));
            }
        }
        return out;
    }

    void sink(String host) throws Exception {
        sinks.add(SmtpSink.start(host, port, "-d", dir.resolve("dumps-" + host) + "/%M."));
    }

    long arrived(String host, String recipient) throws IOException {
        return SinkDump.countWith(dir.resolve("dumps-" + host), recipient);
    }

    Path envelope(String state, String id) {
        return dir.resolve("data/spool").resolve(state).resolve(id + ".json");
    }

    boolean inSpool(String id) {
        return Files.exists(dir.resolve("data/spool/data").resolve(id));
    }

    /** Filed as deferred by an attempt: in deferred/ with its next attempt ahead. */
    boolean deferred(String id) throws IOException {
        Path e = envelope("deferred", id);
        try {
            return Files.getLastModifiedTime(e).toInstant().isAfter(Instant.now().plusSeconds(30));
        } catch (java.nio.file.NoSuchFileException notYet) {
            return false;
        }
    }

    void awaitDeferred(String id) throws Exception {
        assertThat(Await.within(Duration.ofSeconds(20), () -> deferred(id)))
                .as("%s deferred; log:%n%s", id, Processes.log(dir.resolve("serve.log"))).isTrue();
    }

    /** Sends one message to the running mxd serve; its queue id. */
    String send(String to) throws Exception {
        String text = Files.readString(config);
        int smtp = Integer.parseInt(text.replaceAll("(?s).*smtp: \\[\"127\\.0\\.0\\.1:(\\d+)\"\\].*", "$1"));
        try (RawSmtp c = new RawSmtp(new InetSocketAddress("127.0.0.1", smtp))) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("MAIL FROM:<sender@client.test>\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("RCPT TO:<" + to + ">\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: queue control\r\nTo: <" + to + ">\r\n\r\nbody\r\n.\r\n");
            String reply = c.reply();
            assertThat(reply).startsWith("250 2.0.0 OK queued as ");
            return reply.substring("250 2.0.0 OK queued as ".length()).strip();
        }
    }

    /** What one run of the command printed, and its exit status. */
    record Cli(int status, String out, String err) {}

    /** Runs {@code mxd ARGS} as its own JVM (the test's class path), for at most 60 s. */
    static Cli cli(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("mxd-cli", ".out");
        Path err = Files.createTempFile("mxd-cli", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("mxd " + String.join(" ", args) + " did not end within 60 s");
            }
            return new Cli(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
