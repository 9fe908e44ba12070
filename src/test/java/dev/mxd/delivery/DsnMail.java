package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * What the DSN tests share: a zone file, a message handed to mxd over SMTP with the MAIL and
 * RCPT parameters of the test's choosing, a wait for the message in a Maildir that carries a
 * marker, and the reading of one such message by Python's {@code email} package
 * (dsn_fields.py beside this class), an independent parser.
 */
final class DsnMail {

    private static final ObjectMapper JSON = new ObjectMapper();

    private DsnMail() {}

    /** Configuration for delivery by MX to the test's peers on {@code port}, with DNS from {@code dns} and a short retry. */
    static String delivery(InetSocketAddress dns, int port, String retry) {
        return "dns:\n  servers: [\"127.0.0.1:" + dns.getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 1s\n  greeting-timeout: 2s\n  command-timeout: 2s\n"
                + "  retry: " + retry + "\n  scan-interval: 200ms\n";
    }

    /** A real next hop that refuses every recipient: smtp-sink answering RCPT with 550 5.1.1. */
    static SmtpSink refusingEveryRecipient(String host, int port) throws IOException, InterruptedException {
        return SmtpSink.start(host, port, "-f", "RCPT", "-B", "550 5.1.1 no such user here");
    }

    /**
     * Hands one message to mxd: {@code MAIL FROM:<from>MAIL_PARAMS}, {@code RCPT TO:<to>RCPT_PARAMS}
     * and a text whose Subject carries a new marker (returned) followed by {@code body}.
     */
    static String submit(InetSocketAddress mx, String from, String mailParams, String to, String rcptParams, String body)
            throws IOException {
        String marker = UUID.randomUUID().toString();
        byte[] text = ("From: <" + (from.isEmpty() ? "mailer-daemon@client.test" : from) + ">\r\nTo: <" + to
                + ">\r\nSubject: test " + marker + "\r\nMessage-ID: <" + marker + "@client.test>\r\n\r\n" + body + "\r\n.\r\n")
                .getBytes(StandardCharsets.UTF_8);
        try (RawSmtp c = new RawSmtp(mx)) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("MAIL FROM:<" + from + ">" + mailParams + "\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("RCPT TO:<" + to + ">" + rcptParams + "\r\n");
            assertThat(c.reply()).as("RCPT TO:<%s>", to).startsWith("250");
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send(text);
            assertThat(c.reply()).startsWith("250");
            c.send("QUIT\r\n");
        }
        return marker;
    }

    /** The messages in a Maildir's new/ that contain {@code marker}. */
    static List<Path> withMarker(Path maildir, String marker) throws IOException {
        Path d = maildir.resolve("new");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(f -> read(f).contains(marker)).sorted().toList();
        }
    }

    /** Waits (at most 30 s) for one message in {@code maildir} that contains {@code marker} and {@code also}. */
    static Path await(Path maildir, String marker, String also) {
        Path[] found = new Path[1];
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
            Optional<Path> f = withMarker(maildir, marker).stream().filter(p -> read(p).contains(also)).findFirst();
            f.ifPresent(p -> found[0] = p);
            return f.isPresent();
        });
        return found[0];
    }

    static void awaitEmptyQueue(TestMx mx) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() ->
                mx.mx().queue().idle() && mx.mx().spool().ids(QueueState.DEFERRED).isEmpty()
                        && mx.mx().spool().ids(QueueState.INCOMING).isEmpty() && mx.mx().spool().ids(QueueState.ACTIVE).isEmpty());
    }

    static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.ISO_8859_1);
        } catch (IOException gone) {
            return "";
        }
    }

    /** The DSN in {@code file} as Python's email package reads it (see dsn_fields.py), with no parser defects. */
    static JsonNode parse(Path file) throws Exception {
        Path script = Path.of(DsnMail.class.getResource("dsn_fields.py").toURI());
        Process p = new ProcessBuilder("python3", script.toString(), file.toString()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("python3 finished").isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("python3 dsn_fields.py %s: %s", file, text).isZero();
        JsonNode dsn = JSON.readTree(text);
        assertThat(dsn.path("defects")).as("parser defects in %s", file).isEmpty();
        return dsn;
    }

    /** The per-recipient group of a parsed DSN (the test messages have one recipient each). */
    static JsonNode recipient(JsonNode dsn) {
        assertThat(dsn.path("status").size()).as("per-message and one per-recipient group").isEqualTo(2);
        return dsn.path("status").get(1);
    }
}
