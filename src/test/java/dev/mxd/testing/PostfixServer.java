package dev.mxd.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private Postfix instance (Debian package postfix) on one loopback address and port: its own
 * config, queue and log directories under a temporary directory, so it never touches /etc/postfix
 * or another test's instance. It relays every domain in {@code relayDomains} to {@code relayHost}
 * (for example an smtp-sink) and offers STARTTLS with a self-signed certificate made by openssl.
 * Stopped by its master PID.
 */
public final class PostfixServer implements AutoCloseable {

    private final Path dir;
    private final Daemon master;

    private PostfixServer(Path dir, Daemon master) {
        this.dir = dir;
        this.master = master;
    }

    /**
     * @param listen       "127.0.0.61:2525": where smtpd listens
     * @param relayDomains domains it accepts from anyone and relays
     * @param relayHost    "[127.0.0.62]:2526": where it relays them
     */
    public static PostfixServer start(String listen, String relayDomains, String relayHost) throws IOException, InterruptedException {
        return start(listen, relayDomains, relayHost, List.of());
    }

    /** Like {@link #start(String, String, String)} with more main.cf lines ("smtputf8_enable = no"). */
    public static PostfixServer start(String listen, String relayDomains, String relayHost, List<String> mainCf)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mxd-postfix");
        try {
            // Postfix's daemons run as the postfix user and must reach the queue below this directory.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(dir.resolve("etc"));
            Files.createDirectories(dir.resolve("queue"));
            Files.createDirectories(dir.resolve("data"));
            run(dir, List.of("chown", "postfix", dir.resolve("data").toString()));
            run(dir, List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=postfix.mxd.test",
                    "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString()));
            Files.copy(Path.of("/etc/postfix/master.cf"), dir.resolve("etc/master.cf"));
            Files.writeString(dir.resolve("etc/main.cf"), String.join("\n",
                    "compatibility_level = 3.6",
                    "queue_directory = " + dir.resolve("queue"),
                    "data_directory = " + dir.resolve("data"),
                    "mail_owner = postfix",
                    // Postfix refuses to start with an address no interface carries (127.0.0.55 is routed, not
                    // assigned); the listener in master.cf names the address it binds anyway.
                    "inet_interfaces = 127.0.0.1",
                    "inet_protocols = ipv4",
                    "myhostname = postfix.mxd.test",
                    "mydestination =",
                    "mynetworks = 127.0.0.0/8",
                    "relay_domains = " + relayDomains,
                    "relayhost = " + relayHost,
                    "smtp_dns_support_level = disabled",
                    "maillog_file = " + dir.resolve("postfix.log"),
                    "maillog_file_prefixes = /var, /dev/stdout, " + dir,
                    "smtpd_tls_security_level = may",
                    "smtpd_tls_cert_file = " + dir.resolve("cert.pem"),
                    "smtpd_tls_key_file = " + dir.resolve("key.pem"),
                    "smtp_tls_security_level = none",
                    String.join("\n", mainCf),
                    "") );
            String etc = dir.resolve("etc").toString();
            run(dir, List.of("postconf", "-c", etc, "-MX", "smtp/inet"));
            run(dir, List.of("postconf", "-c", etc, "-M", listen + "/inet=" + listen + " inet n - n - - smtpd"));
            run(dir, List.of("postconf", "-c", etc, "-F", "*/*/chroot=n")); // no chroot: nothing to copy into the queue dir
            return new PostfixServer(dir, Daemon.startDetached("postfix", List.of("postfix", "-c", etc, "start"), dir,
                    dir.resolve("cmd.out"), dir.resolve("queue/pid/master.pid"), Duration.ofSeconds(60), dir.resolve("postfix.log")));
        } catch (IOException | InterruptedException | RuntimeException e) {
            TestDirs.deleteTree(dir);
            throw e;
        }
    }

    private static void run(Path dir, List<String> cmd) throws IOException, InterruptedException {
        Path out = dir.resolve("cmd.out");
        Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + Files.readString(out)
                    + log(dir));
        }
    }

    private static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("postfix.log"));
        } catch (IOException e) {
            return "(no Postfix log)";
        }
    }

    public String log() {
        return log(dir);
    }

    /** SIGTERM to the master (it stops its children); at most 10 s for it and them to exit, then SIGKILL. */
    @Override
    public void close() throws InterruptedException {
        master.stop(Duration.ofSeconds(10));
        TestDirs.deleteTree(dir);
    }
}
