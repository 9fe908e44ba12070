package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.config.Engine;
import dev.mxd.filter.EngineResult;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mxd queue …} and {@code mxd quarantine … --config} against a running in-process mxd,
 * found through its configuration file: output, effects and exit statuses (0, 1, 69, 64).
 */
class QueueCommandTest {

    static TestMx mx;
    static String config;

    @BeforeAll
    static void start() throws Exception {
        mx = TestMx.startWithAdmin("delivery:\n  retry: {first: 1h, max: 1h, give-up: 5d}\n");
        config = mx.configFile().toString();
    }

    @AfterAll
    static void stop() {
        mx.close();
    }

    static DnsCommandTest.Run run(String... args) {
        return DnsCommandTest.run(args);
    }

    @Test
    void listShowAndJson() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        DnsCommandTest.Run list = run("queue", "list", "--config", config);
        assertThat(list.status()).as(list.err()).isZero();
        assertThat(list.out()).containsPattern(id + " +deferred +\\d+s +\\d+  <sender@client.test>  next attempt 20\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\n")
                .containsPattern("<someone@nowhere.test> deferred \\(.+\\)")
                .contains(" deferred, 0 hold; ").contains(" shown from 0");
        JsonNode json = new ObjectMapper().readTree(run("queue", "list", "--json", "--config", config).out());
        assertThat(json.path("messages").findValuesAsText("id")).contains(id);
        // as docs/operations.md shows them: the list to the second, the API to the millisecond (a file's time has nanoseconds)
        assertThat(json.path("messages").findValuesAsText("next_attempt"))
                .allMatch(t -> t.matches("20\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3})?Z"), "to the millisecond");
        // --config right after queue, as an operator writes it as often as after the command's name
        DnsCommandTest.Run before = run("queue", "--config", config, "list");
        assertThat(before.status()).as(before.err()).isZero();
        assertThat(before.out()).contains(id).contains(" deferred, 0 hold; ");
        assertThat(run("queue", "--config=" + config, "show", id).out()).contains("id:           " + id);

        DnsCommandTest.Run show = run("queue", "show", id, "--config", config);
        assertThat(show.status()).isZero();
        assertThat(show.out()).contains("id:           " + id).contains("state:        deferred")
                .contains("recipient:    <someone@nowhere.test> deferred via nowhere.test (");
        assertThat(show.out()).as("times to the second, as list shows them").containsPattern(
                "arrival:      20\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(");
        mx.mx().queue().delete(id);
    }

    /**
     * A remote server's reply is shown in list and show: one with an escape sequence (OSC 52 sets the
     * terminal's clipboard, CSI 2K erases a line) was printed as it came, for the operator's terminal
     * to run. Control characters (and bidirectional controls) are now shown as escapes; --json stays valid JSON with the
     * text intact.
     */
    @Test
    void controlCharactersOfARemoteReplyReachNoTerminal() throws Exception {
        String id = mx.sendTo("esc@nowhere.test");
        mx.awaitDeferred(id);
        assertThat(run("queue", "hold", id, "--config", config).status()).isZero();
        Path envelope = mx.mx().spool().root().resolve(QueueState.HOLD.directory()).resolve(id + ".json");
        String hostile = "450 4.2.0 \u001b]52;c;ZXZpbA==\u0007\u001b[2K\u009b1A mailbox busy \u202egnp.exe \udb40\udc41 \ud83d\ude00";
        com.fasterxml.jackson.databind.node.ObjectNode e = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper()
                .readTree(Files.readString(envelope));
        ((com.fasterxml.jackson.databind.node.ObjectNode) e.path("recipients").get(0)).put("detail", hostile);
        Files.writeString(envelope, e.toString());

        for (String command : new String[] {"list", "show"}) {
            DnsCommandTest.Run shown = command.equals("list") ? run("queue", "list", "--config", config)
                    : run("queue", "show", id, "--config", config);
            assertThat(shown.status()).as(shown.err()).isZero();
            // a bidirectional override (U+202E) would show the rest of the line reversed: escaped too
            // and so would an invisible tag character (U+E0041, two UTF-16 units); an emoji is shown as it is
            assertThat(shown.out()).as(command).doesNotContain("\u001b", "\u0007", "\u009b", "\u202e", "\udb40\udc41")
                    .contains("450 4.2.0 \\u001B]52;c;ZXZpbA==\\u0007\\u001B[2K\\u009B1A mailbox busy \\u202Egnp.exe \\uDB40\\uDC41 \ud83d\ude00");
        }
        JsonNode json = new ObjectMapper().readTree(run("queue", "show", id, "--json", "--config", config).out());
        assertThat(json.path("recipients").get(0).path("last_reply").asText()).isEqualTo(hostile);
        assertThat(run("queue", "delete", id, "--config", config).status()).isZero();
    }

    @Test
    void anUnreadableEnvelopeIsListedAndShownWithWhyAndCanBeDeleted() throws Exception {
        String id = mx.sendTo("cut@nowhere.test");
        mx.awaitDeferred(id);
        assertThat(run("queue", "hold", id, "--config", config).status()).isZero();
        Files.writeString(mx.mx().spool().root().resolve(QueueState.HOLD.directory()).resolve(id + ".json"), "{\"id\": \"" + id);

        DnsCommandTest.Run list = run("queue", "list", "--config", config);
        assertThat(list.status()).as(list.err()).isZero();
        assertThat(list.out()).containsPattern(id + " +hold ").contains("the envelope cannot be read: ");
        DnsCommandTest.Run show = run("queue", "show", id, "--config", config);
        assertThat(show.status()).as(show.err()).isZero();
        assertThat(show.out()).contains("state:        hold").contains("error:        the envelope cannot be read: ")
                .contains("sender:       unknown");
        DnsCommandTest.Run flushHeld = run("queue", "flush", id, "--config", config);
        assertThat(flushHeld.status()).as(flushHeld.err()).isEqualTo(1);
        assertThat(flushHeld.err()).contains("the message is on hold");
        // released, it is tried, cannot be read, and waits in deferred/: a flush of its domain passes it over
        assertThat(run("queue", "release", id, "--config", config).status()).isZero();
        DnsCommandTest.Run flushDomain = run("queue", "flush", "--domain", "nowhere.test", "--config", config);
        assertThat(flushDomain.status()).as(flushDomain.err()).isZero();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> mx.mx().spool().state(id).equals(Optional.of(QueueState.DEFERRED))
                && mx.mx().spool().nextAttempt(id).isAfter(Instant.now()));
        DnsCommandTest.Run delete = run("queue", "delete", id, "--config", config);
        assertThat(delete.status()).as(delete.err()).isZero();
        assertThat(mx.mx().spool().state(id)).isEmpty();
    }

    @Test
    void holdReleaseFlushDeleteAndUnknownIds() throws Exception {
        String id = mx.sendTo("other@nowhere.test");
        mx.awaitDeferred(id);
        DnsCommandTest.Run hold = run("queue", "hold", id, "--config", config);
        assertThat(hold.out()).isEqualTo(id + ": on hold" + System.lineSeparator());
        assertThat(mx.mx().spool().state(id)).contains(QueueState.HOLD);
        DnsCommandTest.Run flushHeld = run("queue", "flush", id, "--config", config);
        assertThat(flushHeld.status()).isEqualTo(1);
        assertThat(flushHeld.err()).contains("mxd queue flush: " + id + ": the message is on hold");
        assertThat(run("queue", "release", id, "--config", config).out()).isEqualTo(id + ": released, due now" + System.lineSeparator());
        mx.awaitDeferred(id);
        assertThat(run("queue", "flush", id, "--config", config).out()).isEqualTo(id + ": due now" + System.lineSeparator());
        mx.awaitDeferred(id);
        assertThat(run("queue", "flush", "--config", config).out()).endsWith("deferred message(s) due now" + System.lineSeparator());
        mx.awaitDeferred(id);
        run("queue", "hold", id, "--config", config);
        DnsCommandTest.Run delete = run("queue", "delete", id, "--config", config);
        assertThat(delete.status()).isZero();
        assertThat(delete.out()).isEqualTo(id + ": deleted (was hold)" + System.lineSeparator());
        assertThat(mx.mx().spool().state(id)).isEmpty();

        DnsCommandTest.Run again = run("queue", "delete", id, "--config", config);
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("mxd queue delete: no message " + id
                + " in the queue (delivered, deleted, or never there; see mxd queue list)" + System.lineSeparator());
        assertThat(run("queue", "show", "NOSUCHID0000", "--config", config).status()).isEqualTo(1);
    }

    /**
     * Several ids in one command (postsuper -d takes several, and `... | xargs mxd queue delete` needs it): each is done,
     * one that is not there is told on standard error without stopping the rest, and the exit status says so.
     */
    @Test
    void severalIdsAtOnceAndOneMissingDoesNotStopTheRest() throws Exception {
        String first = mx.sendTo("first@nowhere.test");
        String second = mx.sendTo("second@nowhere.test");
        mx.awaitDeferred(first);
        mx.awaitDeferred(second);
        DnsCommandTest.Run hold = run("queue", "hold", first, second, "--config", config);
        assertThat(hold.status()).as(hold.err()).isZero();
        assertThat(hold.out()).isEqualTo(first + ": on hold" + System.lineSeparator() + second + ": on hold" + System.lineSeparator());
        DnsCommandTest.Run delete = run("queue", "delete", first, "NOSUCHID0000", second, "--config", config);
        assertThat(delete.status()).isEqualTo(1);
        assertThat(delete.out()).isEqualTo(first + ": deleted (was hold)" + System.lineSeparator() + second + ": deleted (was hold)"
                + System.lineSeparator());
        assertThat(delete.err()).isEqualTo("mxd queue delete: no message NOSUCHID0000 in the queue (delivered, deleted, or never there;"
                + " see mxd queue list)" + System.lineSeparator());
        assertThat(mx.mx().spool().state(first)).isEmpty();
        assertThat(mx.mx().spool().state(second)).isEmpty();
        DnsCommandTest.Run bad = run("queue", "delete", "NOSUCHID0000", "not-an-id", "--config", config);
        assertThat(bad.status()).as("every id is checked before any change").isEqualTo(64);
    }

    @Test
    void hostsWhenNoneFailed() {
        DnsCommandTest.Run hosts = run("queue", "hosts", "--config", config);
        assertThat(hosts.status()).isZero();
        assertThat(run("queue", "hosts", "--json", "--config", config).out()).startsWith("{\"hosts\":[");
    }

    @Test
    void noServerIsExit69WithWhatToDo(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path cfg = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"), port, "", ""));
        DnsCommandTest.Run noToken = run("queue", "list", "--config", cfg.toString());
        assertThat(noToken.status()).isEqualTo(69);
        assertThat(noToken.err()).contains("no admin token at " + dir.resolve("data/admin.token") + ": is mxd serve running with this config?");
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/admin.token"), "sometoken\n");
        DnsCommandTest.Run down = run("queue", "list", "--config", cfg.toString());
        assertThat(down.status()).isEqualTo(69);
        assertThat(down.err()).isEqualTo("mxd queue list: no mxd admin listener at 127.0.0.1:" + port
                + ": is mxd serve running with this config?" + System.lineSeparator());
        Path noAdmin = Files.writeString(dir.resolve("plain.yaml"), TestMx.yaml(dir.resolve("data"), port, ""));
        DnsCommandTest.Run none = run("queue", "list", "--config", noAdmin.toString());
        assertThat(none.status()).isEqualTo(78);
        assertThat(none.err()).contains("has no admin listener; add listen: {admin: \"127.0.0.1:8025\"}");
    }

    /**
     * A server that is there but could not do it (its spool failed: HTTP 500) exited 70, which the
     * documented exit statuses did not list; the same failure without a server exits 75. Now 75, with
     * the server's reason. (A fake admin listener on loopback answers 500.)
     */
    @Test
    void aServerThatCannotDoItNowIsExit75(@TempDir Path dir) throws Exception {
        com.sun.net.httpserver.HttpServer fake = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        fake.createContext("/", ex -> {
            byte[] body = "{\"error\": \"mxd could not do this: the spool cannot be read: Input/output error\"}"
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(500, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        fake.start();
        try {
            Path cfg = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(dir.resolve("data"), FreePort.tcpAndUdp("127.0.0.1"),
                    fake.getAddress().getPort(), "", ""));
            Files.createDirectories(dir.resolve("data"));
            Files.writeString(dir.resolve("data/admin.token"), "sometoken\n");
            DnsCommandTest.Run r = run("queue", "list", "--config", cfg.toString());
            assertThat(r.status()).isEqualTo(75);
            assertThat(r.err()).contains("the spool cannot be read: Input/output error");
        } finally {
            fake.stop(0);
        }
    }

    @Test
    void wrongTokenIsRefused(@TempDir Path dir) throws Exception {
        String yaml = Files.readString(mx.configFile()).replaceFirst("(?m)^data-dir: .*$", "data-dir: " + dir);
        Path other = Files.writeString(dir.resolve("mxd.yaml"), yaml);
        Files.writeString(dir.resolve("admin.token"), "not-the-token\n");
        DnsCommandTest.Run r = run("queue", "list", "--config", other.toString());
        assertThat(r.status()).isEqualTo(77);
        assertThat(r.err()).contains("refused the token in " + dir.resolve("admin.token"));
    }

    @Test
    void usageErrors() {
        assertThat(run("queue", "hold", "--config", config).status()).isEqualTo(64);
        assertThat(run("queue", "list", "--limit", "0", "--config", config).status()).isEqualTo(64);
        assertThat(run("queue").status()).isEqualTo(64);
        // an id goes into a request's path: what is no id is refused before any request (a hold became a flush)
        DnsCommandTest.Run injected = run("queue", "hold", "ABCDEF123/flush?", "--config", config);
        assertThat(injected.status()).isEqualTo(64);
        assertThat(injected.err()).contains("'ABCDEF123/flush?' is not a queue id");
        assertThat(run("queue", "show", "<ABCDEF123>", "--config", config).status()).isEqualTo(64);
        assertThat(run("queue", "flush", "abc def", "--config", config).status()).isEqualTo(64);
        DnsCommandTest.Run pasted = run("queue", "show", "ABCDEF123 ", "--config", config);
        assertThat(pasted.status()).as("a pasted space is let go: no such message").isEqualTo(1);
        assertThat(run("quarantine", "show", "../../spool/x", "--config", config).status()).isEqualTo(64);
    }

    @Test
    void quarantineThroughTheServerReleasesIntoTheQueue() throws Exception {
        QuarantineEntry e = new Quarantine(mx.mx().config().dataDir()).store(
                MessageSource.of("Subject: held\r\n\r\nvirus h\u00e9re\r\n".getBytes(StandardCharsets.ISO_8859_1)),
                ScanEnvelope.of("Q1", "a@x.test", List.of("bob@example.test")), "virus Local.EICAR.UNOFFICIAL (clamd)",
                List.of(new EngineResult.Infected(Engine.CLAMD, "Local.EICAR.UNOFFICIAL")), Instant.parse("2026-11-26T05:00:00Z"));
        DnsCommandTest.Run list = run("quarantine", "list", "--config", config);
        assertThat(list.status()).as(list.err()).isZero();
        assertThat(list.out()).contains(e.id()).contains("virus Local.EICAR.UNOFFICIAL (clamd)").contains("1 of 1 shown");
        QuarantineCommandTest.Shown show = QuarantineCommandTest.runShow("quarantine", "show", e.id(), "--config", config);
        assertThat(show.run().out()).contains("recipients: bob@example.test");
        assertThat(show.stdout()).as("through the admin API too, the octets as stored (a Latin-1 body)")
                .isEqualTo("Subject: held\r\n\r\nvirus h\u00e9re\r\n".getBytes(StandardCharsets.ISO_8859_1));
        DnsCommandTest.Run released = run("quarantine", "release", e.id(), "--config", config);
        assertThat(released.status()).as(released.err()).isZero();
        assertThat(released.out()).contains("released:   queued as ");
        List<Path> delivered = mx.awaitDelivered("bob", 1, Duration.ofSeconds(30));
        assertThat(delivered).hasSize(1);
        assertThat(Files.readString(delivered.get(0), StandardCharsets.ISO_8859_1)).contains("Subject: held");
        assertThat(run("quarantine", "release", e.id(), "--config", config).status()).isEqualTo(1);
        assertThat(run("quarantine", "list", "--config", config).out()).isEqualTo("quarantine is empty" + System.lineSeparator());
        assertThat(run("quarantine", "list", "--config", config, "--data-dir", "/tmp").status()).isEqualTo(64);
    }
}
