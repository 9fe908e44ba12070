package dev.mxd.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Rspamd (Debian rspamd) in a temporary directory: the package's /etc/rspamd rules with a top-level
 * configuration of our own (one normal worker on a free loopback port, no controller, no proxy,
 * console log), its database, run and local directories moved into the temp dir with --var, and
 * DNS pointed at a closed loopback port so nothing leaves the machine. No redis: the modules that
 * need it switch themselves off. Start-up takes 10 to 20 s (Lua rules, regexp compilation).
 * Recipe: docs/filters.md.
 */
public final class Rspamd extends PeerProcess {

    private final int port;

    private Rspamd(Path dir, List<String> command, int port) throws IOException {
        super("rspamd", dir, command);
        this.port = port;
    }

    public static Rspamd start() throws IOException, InterruptedException {
        return start("");
    }

    /** With {@code localLua} as its rspamd.local.lua (rules of the test's own; empty for none). */
    public static Rspamd start(String localLua) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mxd-rspamd");
        for (String sub : List.of("db", "run", "log", "local/local.d")) {
            Files.createDirectories(dir.resolve(sub));
        }
        int port = FreePort.tcpOn("127.0.0.1");
        Files.writeString(dir.resolve("rspamd.conf"), """
                .include "$CONFDIR/common.conf"
                options {
                    pidfile = "$RUNDIR/rspamd.pid";
                    .include "$CONFDIR/options.inc"
                    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
                }
                logging {
                    type = "console";
                    level = "warning";
                }
                worker "normal" {
                    bind_socket = "127.0.0.1:%d";
                    count = 1;
                    .include "$CONFDIR/worker-normal.inc"
                }
                """.formatted(port));
        Files.writeString(dir.resolve("local/local.d/options.inc"), """
                dns { nameserver = ["127.0.0.1:1"]; timeout = 100ms; retransmits = 1; }
                """);
        if (!localLua.isEmpty()) {
            Files.writeString(dir.resolve("local/rspamd.local.lua"), localLua, java.nio.charset.StandardCharsets.UTF_8);
        }
        List<String> cmd = new ArrayList<>(List.of("rspamd", "-f", "-c", dir.resolve("rspamd.conf").toString(),
                "--var", "LOCAL_CONFDIR=" + dir.resolve("local"), "--var", "DBDIR=" + dir.resolve("db"),
                "--var", "RUNDIR=" + dir.resolve("run"), "--var", "LOGDIR=" + dir.resolve("log")));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "root", "-g", "root")); // else it switches to _rspamd, which cannot use the temp dir
        }
        Rspamd rspamd = new Rspamd(dir, cmd, port);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofMillis(500)).build();
        HttpRequest ping = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ping")).timeout(Duration.ofSeconds(1)).build();
        rspamd.awaitReady(120, () -> {
            try {
                return http.send(ping, HttpResponse.BodyHandlers.ofString()).body().strip().equals("pong");
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        return rspamd;
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port);
    }
}
