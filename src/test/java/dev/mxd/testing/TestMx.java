package dev.mxd.testing;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import dev.mxd.node.ReceivingMx;
import dev.mxd.queue.QueueState;
import java.util.stream.Stream;

/**
 * An in-process receiving mxd on a free loopback port with a temporary data directory:
 * hostname mx1.example.test, local domain example.test (alice, bob; postmaster and team
 * aliases), backup domain example.org. {@code extra} YAML is appended to that configuration;
 * {@code exampleTestExtra} goes inside example.test (its {@code filter:}, for instance).
 */
public final class TestMx implements AutoCloseable {

    private final Path dir;
    private final ReceivingMx mx;
    private final boolean deleteOnClose;

    private TestMx(Path dir, ReceivingMx mx, boolean deleteOnClose) {
        this.dir = dir;
        this.mx = mx;
        this.deleteOnClose = deleteOnClose;
    }

    public static String yaml(Path dataDir, int port, String extra) {
        return yaml(dataDir, port, 0, "", extra);
    }

    /**
     * The configuration, with the admin listener on {@code adminPort} when it is not 0. Unless {@code extra}
     * has a {@code dns:} section, DNS goes to a loopback port where nothing answers, never to the system's
     * resolver: remote lookups and the client-name lookup of each connection fail at once.
     */
    public static String yaml(Path dataDir, int port, int adminPort, String exampleTestExtra, String extra) {
        String dns = extra.contains("dns:") ? "" : "dns:\n  servers: [\"127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1") + "\"]\n";
        return "hostname: mx1.example.test\n"
                + "listen:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + (adminPort == 0 ? "" : "  admin: \"127.0.0.1:" + adminPort + "\"\n")
                + "data-dir: " + dataDir + "\n"
                + "domains:\n"
                + "  example.test:\n    role: local\n    mailboxes: [alice, bob]\n"
                + "    aliases: {postmaster: alice, team: [alice, bob]}\n"
                + exampleTestExtra.indent(4)
                + "  example.org:\n    role: backup\n"
                + extra + dns;
    }

    public static TestMx start(String extra) throws Exception {
        return start(Files.createTempDirectory("mxd-test"), "", extra, true, false);
    }

    /** With {@code exampleTestExtra} inside the example.test domain (indented for it here). */
    public static TestMx start(String exampleTestExtra, String extra) throws Exception {
        return start(Files.createTempDirectory("mxd-test"), exampleTestExtra, extra, true, false);
    }

    /** With the admin listener on a free loopback port; the configuration is written to {@link #configFile()}. */
    public static TestMx startWithAdmin(String extra) throws Exception {
        return start(Files.createTempDirectory("mxd-test"), "", extra, true, true);
    }

    /**
     * With the admin listener, {@code exampleTestExtra} inside example.test, and its data in {@code dir}, which
     * stays after close (a test that mounts a file system there removes it itself).
     */
    public static TestMx startWithAdmin(Path dir, String exampleTestExtra, String extra) throws Exception {
        return start(dir, exampleTestExtra, extra, false, true);
    }

    /** An mxd whose data stays in {@code dir} after close, so a second one can start on it (a restart). */
    public static TestMx startIn(Path dir, String extra) throws Exception {
        return start(dir, "", extra, false, false);
    }

    private static TestMx start(Path dir, String exampleTestExtra, String extra, boolean deleteOnClose, boolean admin)
            throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        String withDefaults = extra.contains("timeouts:") ? extra : extra + "timeouts:\n  greet-pause: 0s\n";
        String text = yaml(dir.resolve("data"), port, admin ? FreePort.tcpAndUdp("127.0.0.1") : 0, exampleTestExtra, withDefaults);
        Files.writeString(dir.resolve("mxd.yaml"), text);
        MxdConfig config = ConfigLoader.parse(text, dir.resolve("mxd.yaml"));
        return new TestMx(dir, ReceivingMx.start(config), deleteOnClose);
    }

    public InetSocketAddress smtp() {
        return mx.smtpAddresses().get(0);
    }

    /** The configuration file this mxd runs with ({@code mxd queue --config}). */
    public Path configFile() {
        return dir.resolve("mxd.yaml");
    }

    /** The admin listener's base URL, like {@code http://127.0.0.1:PORT}. */
    public String adminUrl() {
        InetSocketAddress a = mx.adminAddress().orElseThrow(() -> new IllegalStateException("started without an admin listener"));
        return "http://127.0.0.1:" + a.getPort();
    }

    /** The admin API's bearer token. */
    public String adminToken() throws IOException {
        return Files.readString(mx.config().adminToken()).strip();
    }

    public ReceivingMx mx() {
        return mx;
    }

    public Path dir() {
        return dir;
    }

    /** The messages in a mailbox's new/ directory. */
    public List<Path> delivered(String mailbox) throws IOException {
        Path d = mx.maildir("example.test", mailbox).resolve("new");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().toList();
        }
    }

    /** Waits (bounded) until a mailbox holds {@code count} messages; returns them. */
    public List<Path> awaitDelivered(String mailbox, int count, Duration max) throws Exception {
        Await.within(max, () -> delivered(mailbox).size() >= count);
        return delivered(mailbox);
    }

    /** Sends one message to {@code to}; returns its queue id. */
    public String sendTo(String to) throws Exception {
        return send("", to, "Subject: admin test\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Sends {@code text} (CRLF lines, dot-stuffed here) from sender@client.test to {@code to}, with
     * {@code mailParameters} (such as " BODY=8BITMIME") after MAIL FROM; every reply must be a
     * success. Returns the queue id.
     */
    public String send(String mailParameters, String to, byte[] text) throws Exception {
        String stuffed = new String(text, StandardCharsets.UTF_8).replace("\r\n.", "\r\n..");
        try (RawSmtp c = new RawSmtp(smtp())) {
            check(c.code(), 220);
            c.send("EHLO client.test\r\n");
            check(c.code(), 250);
            c.send("MAIL FROM:<sender@client.test>" + mailParameters + "\r\n");
            check(c.code(), 250);
            c.send("RCPT TO:<" + to + ">\r\n");
            check(c.code(), 250);
            c.send("DATA\r\n");
            check(c.code(), 354);
            c.send((stuffed.startsWith(".") ? "." + stuffed : stuffed).getBytes(StandardCharsets.UTF_8)).send(".\r\n");
            String reply = c.reply();
            if (!reply.startsWith("250 2.0.0 OK queued as ")) {
                throw new AssertionError("message to " + to + " not queued: " + reply);
            }
            return reply.substring("250 2.0.0 OK queued as ".length()).strip();
        }
    }

    /** Sends one message to {@code to} with {@code subject}; the reply to its end of data, whatever it is. */
    public String replyToMessage(String to, String subject) throws IOException {
        try (RawSmtp c = new RawSmtp(smtp())) {
            check(c.code(), 220);
            c.send("EHLO client.test\r\n");
            check(c.code(), 250);
            c.send("MAIL FROM:<sender@client.test>\r\nRCPT TO:<" + to + ">\r\nDATA\r\n");
            check(c.code(), 250);
            check(c.code(), 250);
            check(c.code(), 354);
            c.send("Subject: " + subject + "\r\n\r\n" + "x".repeat(76) + "\r\n.\r\n");
            return c.reply();
        }
    }

    /**
     * Waits (bounded) until an attempt has filed the message as deferred: in deferred/ with its next
     * attempt in the future (a message just released or flushed is in deferred/ too, but due now).
     */
    public void awaitDeferred(String id) throws Exception {
        boolean deferred = Await.within(Duration.ofSeconds(60), () -> {
            try {
                return mx.spool().state(id).orElse(null) == QueueState.DEFERRED
                        && mx.spool().nextAttempt(id).isAfter(java.time.Instant.now().plusSeconds(1));
            } catch (java.nio.file.NoSuchFileException movedMeanwhile) {
                return false; // being delivered: look again
            }
        });
        if (deferred) {
            return;
        }
        throw new AssertionError(id + " was not deferred in 60 s; it is " + mx.spool().state(id));
    }

    private static void check(int code, int expected) {
        if (code != expected) {
            throw new AssertionError("expected " + expected + ", got " + code);
        }
    }

    @Override
    public void close() {
        mx.close();
        if (deleteOnClose) {
            TestDirs.deleteTree(dir);
        }
    }
}
