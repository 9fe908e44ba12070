package dev.mxd.testing;

import dev.mxd.cli.ReceivingMx;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
        return yaml(dataDir, port, "", extra);
    }

    public static String yaml(Path dataDir, int port, String exampleTestExtra, String extra) {
        return "hostname: mx1.example.test\n"
                + "listen:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + "data-dir: " + dataDir + "\n"
                + "domains:\n"
                + "  example.test:\n    role: local\n    mailboxes: [alice, bob]\n"
                + "    aliases: {postmaster: alice, team: [alice, bob]}\n"
                + exampleTestExtra.indent(4)
                + "  example.org:\n    role: backup\n"
                + extra;
    }

    public static TestMx start(String extra) throws Exception {
        return start(Files.createTempDirectory("mxd-test"), "", extra, true);
    }

    /** With {@code exampleTestExtra} inside the example.test domain (indented for it here). */
    public static TestMx start(String exampleTestExtra, String extra) throws Exception {
        return start(Files.createTempDirectory("mxd-test"), exampleTestExtra, extra, true);
    }

    /** An mxd whose data stays in {@code dir} after close, so a second one can start on it (a restart). */
    public static TestMx startIn(Path dir, String extra) throws Exception {
        return start(dir, "", extra, false);
    }

    private static TestMx start(Path dir, String exampleTestExtra, String extra, boolean deleteOnClose) throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        String withDefaults = extra.contains("timeouts:") ? extra : extra + "timeouts:\n  greet-pause: 0s\n";
        if (!withDefaults.contains("dns:")) {
            // Never the system's resolver: remote lookups go to a loopback port where nothing answers.
            withDefaults += "dns:\n  servers: [\"127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1") + "\"]\n";
        }
        String text = yaml(dir.resolve("data"), port, exampleTestExtra, withDefaults);
        MxdConfig config = ConfigLoader.parse(text, dir.resolve("mxd.yaml"));
        return new TestMx(dir, ReceivingMx.start(config), deleteOnClose);
    }

    public InetSocketAddress smtp() {
        return mx.smtpAddresses().get(0);
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
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            List<Path> d = delivered(mailbox);
            if (d.size() >= count) {
                return d;
            }
            Thread.sleep(20);
        }
        return delivered(mailbox);
    }

    @Override
    public void close() {
        mx.close();
        if (deleteOnClose) {
            TestDirs.deleteTree(dir);
        }
    }
}
