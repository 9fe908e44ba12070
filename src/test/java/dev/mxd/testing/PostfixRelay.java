package dev.mxd.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Postfix (Debian package postfix) that relays one domain to a fixed next hop, as a
 * sending MTA in front of mxd. It runs entirely in its own directory:
 * {@code config_directory} (main.cf, master.cf), {@code queue_directory} and
 * {@code data_directory} under {@code work}, so it never reads or touches /etc/postfix's
 * configuration or /var/spool/postfix. It listens on 127.0.0.1 only, uses no DNS, logs to a
 * file, runs no chroot, and is stopped with {@code postfix -c DIR stop}, then by its master PID.
 */
public final class PostfixRelay implements AutoCloseable {

    private final Path work;
    private final Path config;
    private final int port;
    private Daemon master;

    private PostfixRelay(Path work, int port) {
        this.work = work;
        this.config = work.resolve("etc");
        this.port = port;
    }

    /** Starts Postfix relaying {@code domain} to {@code [127.0.0.1]:nextHopPort}; waits (at most 30 s) until it listens. */
    public static PostfixRelay start(Path work, String domain, int nextHopPort) throws IOException, InterruptedException {
        return start(work, List.of(domain), nextHopPort, List.of());
    }

    /**
     * Starts Postfix relaying each of {@code domains} to {@code [127.0.0.1]:nextHopPort}, with {@code mainCf}
     * lines added to main.cf (retry timing, for instance); waits (at most 30 s) until it listens.
     */
    public static PostfixRelay start(Path work, List<String> domains, int nextHopPort, List<String> mainCf)
            throws IOException, InterruptedException {
        String domain = String.join(", ", domains);
        String transports = String.join(", ", domains.stream().map(d -> "{ " + d + " = smtp:[127.0.0.1]:" + nextHopPort + " }").toList());
        PostfixRelay p = new PostfixRelay(work, FreePort.tcpAndUdp("127.0.0.1"));
        Path queue = work.resolve("queue");
        Path data = work.resolve("data");
        Files.createDirectories(p.config);
        Files.createDirectories(queue);
        Files.createDirectories(data);
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        UserPrincipalLookupService users = work.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(data, users.lookupPrincipalByName("postfix")); // master.lock and the TLS caches live here
        Files.writeString(p.config.resolve("main.cf"), String.join("\n",
                "compatibility_level = 3.6",
                "queue_directory = " + queue,
                "data_directory = " + data,
                "meta_directory = /etc/postfix",     // the package's postfix-files (read only)
                "shlib_directory = /usr/lib/postfix",
                "command_directory = /usr/sbin",
                "daemon_directory = /usr/lib/postfix/sbin",
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "myhostname = relay.client.test",
                "mydomain = client.test",
                "myorigin = client.test",
                "mydestination =",
                "mynetworks = 127.0.0.0/8",
                "relay_domains = " + domain,
                "transport_maps = inline:{ " + transports + " }",
                "smtp_dns_support_level = disabled",
                "smtputf8_enable = yes",
                "alias_maps =",
                "alias_database =",
                "local_recipient_maps =",
                "maillog_file_prefixes = " + work,
                "maillog_file = " + work.resolve("postfix.log"),
                String.join("\n", mainCf),
                ""), StandardCharsets.UTF_8);
        // Only the services a relay needs, none chrooted; the SMTP listener on its own loopback port.
        Files.writeString(p.config.resolve("master.cf"), String.join("\n",
                "127.0.0.1:" + p.port + " inet n - n - - smtpd",
                "pickup    unix  n - n 60 1 pickup",
                "cleanup   unix  n - n -  0 cleanup",
                "qmgr      unix  n - n 300 1 qmgr",
                "rewrite   unix  - - n -  - trivial-rewrite",
                "bounce    unix  - - n -  0 bounce",
                "defer     unix  - - n -  0 bounce",
                "trace     unix  - - n -  0 bounce",
                "verify    unix  - - n -  1 verify",
                "flush     unix  n - n 1000? 0 flush",
                "proxymap  unix  - - n -  - proxymap",
                "smtp      unix  - - n -  - smtp",
                "relay     unix  - - n -  - smtp",
                "showq     unix  n - n -  - showq",
                "error     unix  - - n -  - error",
                "retry     unix  - - n -  - error",
                "discard   unix  - - n -  - discard",
                "anvil     unix  - - n -  1 anvil",
                "scache    unix  - - n -  1 scache",
                "postlog   unix-dgram n - n - 1 postlogd",
                ""), StandardCharsets.UTF_8);
        p.master = Daemon.startDetached("postfix", List.of("postfix", "-c", p.config.toString(), "start"), work,
                work.resolve("postfix-start.out"), queue.resolve("pid").resolve("master.pid"), Duration.ofSeconds(60),
                work.resolve("postfix.log"));
        p.master.awaitReady(Duration.ofSeconds(30), p::accepts);
        return p;
    }

    private void postfix(String command) throws IOException, InterruptedException {
        Path out = work.resolve("postfix-" + command + ".out");
        Process proc = new ProcessBuilder("postfix", "-c", config.toString(), command).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!proc.waitFor(60, TimeUnit.SECONDS)) {
            proc.destroyForcibly();
            throw new IOException("postfix -c " + config + " " + command + " did not finish in 60 s");
        }
        if (proc.exitValue() != 0) {
            throw new IOException("postfix -c " + config + " " + command + " exited " + proc.exitValue() + ": "
                    + Files.readString(out) + log());
        }
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(address(), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Postfix's SMTP listener. */
    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    public String log() {
        try {
            Path f = work.resolve("postfix.log");
            return Files.exists(f) ? Files.readString(f) : "(no postfix.log)";
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    /** {@code postfix stop} (asynchronous), then waits at most 20 s for the master to exit; SIGKILL as a last resort. */
    @Override
    public void close() throws InterruptedException {
        if (master == null) {
            return;
        }
        List<ProcessHandle> children = master.processes();
        try {
            postfix("stop");
        } catch (IOException e) {
            master.stop(Duration.ofSeconds(20));
            return;
        }
        master.awaitExit(children, Duration.ofSeconds(20));
    }
}
