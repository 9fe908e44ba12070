package dev.mxd.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Postfix's smtp-sink (Debian package postfix): a real SMTP server that accepts and discards mail,
 * started on one loopback address and port with the given flags (see smtp-sink(1): -h NAME for the
 * greeting, -f CONNECT to reject at greeting, -f EHLO to refuse EHLO, -W CMD:SECONDS to stall), and
 * stopped by its PID.
 */
public final class SmtpSink implements AutoCloseable {

    public static final String BINARY = "/usr/sbin/smtp-sink";

    private final Daemon daemon;
    private final Path log;
    private final InetSocketAddress address;

    private SmtpSink(Daemon daemon, Path log, InetSocketAddress address) {
        this.daemon = daemon;
        this.log = log;
        this.address = address;
    }

    /** Starts smtp-sink on host:port and waits (at most 10 s) until it accepts connections. */
    public static SmtpSink start(String host, int port, String... flags) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BINARY));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "nobody")); // smtp-sink refuses to run as root without it
        }
        cmd.addAll(List.of(flags));
        cmd.add(host + ":" + port);
        cmd.add("64");
        Path log = Files.createTempFile("mxd-smtp-sink", ".log");
        SmtpSink sink = new SmtpSink(Daemon.start("smtp-sink " + String.join(" ", cmd), cmd, null, log), log,
                new InetSocketAddress(host, port));
        try {
            sink.daemon.awaitReady(Duration.ofSeconds(10), sink::accepts);
        } catch (IOException e) {
            sink.close();
            throw e;
        }
        return sink;
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(address, 200);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    public InetSocketAddress address() {
        return address;
    }

    public String log() {
        return daemon.log();
    }

    @Override
    public void close() {
        daemon.stop(Duration.ofSeconds(5));
        try {
            Files.deleteIfExists(log);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
