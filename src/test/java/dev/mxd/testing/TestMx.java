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
 * aliases), backup domain example.org. {@code extra} YAML is appended to that configuration.
 */
public final class TestMx implements AutoCloseable {

    private final Path dir;
    private final ReceivingMx mx;

    private TestMx(Path dir, ReceivingMx mx) {
        this.dir = dir;
        this.mx = mx;
    }

    public static String yaml(Path dataDir, int port, String extra) {
        return "hostname: mx1.example.test\n"
                + "listen:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + "data-dir: " + dataDir + "\n"
                + "domains:\n"
                + "  example.test:\n    role: local\n    mailboxes: [alice, bob]\n"
                + "    aliases: {postmaster: alice, team: [alice, bob]}\n"
                + "  example.org:\n    role: backup\n"
                + extra;
    }

    public static TestMx start(String extra) throws Exception {
        Path dir = Files.createTempDirectory("mxd-test");
        int port = FreePort.tcpAndUdp("127.0.0.1");
        String withDefaults = extra.contains("timeouts:") ? extra : extra + "timeouts:\n  greet-pause: 0s\n";
        if (!withDefaults.contains("dns:")) {
            // Never the system's resolver: remote lookups go to a loopback port where nothing answers.
            withDefaults += "dns:\n  servers: [\"127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1") + "\"]\n";
        }
        String text = yaml(dir.resolve("data"), port, withDefaults);
        MxdConfig config = ConfigLoader.parse(text, dir.resolve("mxd.yaml"));
        return new TestMx(dir, ReceivingMx.start(config));
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
        TestDirs.deleteTree(dir);
    }
}
