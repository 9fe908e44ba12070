package dev.mxd.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Dovecot (dovecot-imapd) serving the Maildirs under one directory over IMAP on a
 * loopback port, with its own configuration, run and log directories.
 * Dovecot refuses to run mail processes as root, so users map to the {@code mail} account:
 * the caller hands the Maildirs to it with {@link #giveToMailUser}. Any user logs in with the
 * password {@code secret}. Stopped by its master PID.
 */
public final class Dovecot implements AutoCloseable {

    public static final String PASSWORD = "secret";

    private final Path work;
    private final Daemon master;
    private final int port;

    private Dovecot(Path work, Daemon master, int port) {
        this.work = work;
        this.master = master;
        this.port = port;
    }

    /** Starts Dovecot for {@code <mailRoot>/USER/Maildir} and waits (at most 20 s) until IMAP answers. */
    public static Dovecot start(Path work, Path mailRoot) throws IOException, InterruptedException {
        Files.createDirectories(work.resolve("run"));
        openForOthers(work);
        openForOthers(work.resolve("run"));
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path conf = work.resolve("dovecot.conf");
        Files.writeString(conf, String.join("\n",
                "protocols = imap",
                "listen = 127.0.0.1",
                "base_dir = " + work.resolve("run"),
                "state_dir = " + work.resolve("run"),
                "log_path = " + work.resolve("dovecot.log"),
                "ssl = no",
                "disable_plaintext_auth = no",
                "first_valid_uid = 8", // the Debian mail user (uid 8); Dovecot refuses system uids by default
                "mail_location = maildir:" + mailRoot + "/%n/Maildir",
                "passdb {", "  driver = static", "  args = password=" + PASSWORD, "}",
                "userdb {", "  driver = static", "  args = uid=mail gid=mail home=" + mailRoot + "/%n", "}",
                "service imap-login {", "  inet_listener imap {", "    address = 127.0.0.1", "    port = " + port, "  }",
                "  inet_listener imaps {", "    port = 0", "  }", "}",
                "service pop3-login {", "  inet_listener pop3 {", "    port = 0", "  }", "}",
                ""), StandardCharsets.UTF_8);
        Daemon master = Daemon.startDetached("dovecot", List.of("dovecot", "-c", conf.toString()), work,
                work.resolve("dovecot.out"), work.resolve("run").resolve("master.pid"), Duration.ofSeconds(20),
                work.resolve("dovecot.log"));
        Dovecot d = new Dovecot(work, master, port);
        master.awaitReady(Duration.ofSeconds(20), d::accepts);
        return d;
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Makes a mailbox directory tree readable by Dovecot's mail processes: owned by the mail user,
     * and every directory from {@code top} down to it traversable.
     */
    public static void giveToMailUser(Path top, Path mailbox) throws IOException, InterruptedException {
        for (Path d = mailbox.getParent(); d != null && d.startsWith(top); d = d.getParent()) {
            openForOthers(d);
        }
        Process chown = new ProcessBuilder("chown", "-R", "mail:mail", mailbox.toString()).redirectErrorStream(true).start();
        if (!chown.waitFor(20, TimeUnit.SECONDS) || chown.exitValue() != 0) {
            throw new IOException("chown -R mail:mail " + mailbox + " failed: " + new String(chown.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static void openForOthers(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** One message by UID, exactly as IMAP returns it (curl's IMAP client: FETCH BODY[]). */
    public byte[] fetch(String user, String mailbox, int uid) throws IOException, InterruptedException {
        Path out = work.resolve("fetch-" + System.nanoTime());
        Process p = new ProcessBuilder(List.of("curl", "-s", "-S", "--max-time", "20",
                "--url", "imap://127.0.0.1:" + port + "/" + mailbox + ";UID=" + uid, "--user", user + ":" + PASSWORD))
                .redirectOutput(out.toFile()).redirectError(work.resolve("curl.err").toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("curl IMAP fetch failed: " + read(work.resolve("curl.err")) + read(work.resolve("dovecot.log")));
        }
        return Files.readAllBytes(out);
    }

    public String log() {
        return read(work.resolve("dovecot.log"));
    }

    private static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    /** SIGTERM to the master (it stops its children), waiting at most 10 s, then SIGKILL. */
    @Override
    public void close() throws InterruptedException {
        master.stop(Duration.ofSeconds(10));
    }
}
