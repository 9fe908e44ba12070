package dev.mxd.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real daemon a test started in its own temporary directory: waited for until it answers,
 * paused and resumed with SIGSTOP/SIGCONT (a stalled engine, for timeouts), stopped by its PID.
 * Started, polled and stopped by the shared {@link Daemon} fixture.
 */
public class PeerProcess implements AutoCloseable {

    protected final String name;
    protected final Path dir;
    protected final Daemon daemon;

    protected PeerProcess(String name, Path dir, List<String> command) throws IOException {
        this.name = name;
        this.dir = dir;
        this.daemon = Daemon.start(name, command, dir, dir.resolve(name + ".log"));
    }

    /** Polls {@code ready} for at most {@code seconds}; fails with the daemon's log (and stops it and its directory). */
    protected void awaitReady(int seconds, BooleanSupplier ready) throws IOException, InterruptedException {
        try {
            daemon.awaitReady(Duration.ofSeconds(seconds), ready);
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    public long pid() {
        return daemon.pid();
    }

    /** SIGSTOP to the daemon and its workers: the kernel still accepts connections, but nothing answers. */
    public void pause() throws IOException, InterruptedException {
        signal("-STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() throws IOException, InterruptedException {
        signal("-CONT");
    }

    private void signal(String sig) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("kill", sig));
        daemon.processes().forEach(p -> cmd.add(String.valueOf(p.pid()))); // the daemon we started and the workers it forked
        Process kill = new ProcessBuilder(cmd).inheritIO().start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed");
        }
    }

    public String log() {
        return daemon.log();
    }

    /** Stops each daemon that was started (nulls are those that never came up), in the order given. */
    public static void closeAll(PeerProcess... daemons) {
        for (PeerProcess d : daemons) {
            if (d != null) {
                d.close();
            }
        }
    }

    @Override
    public void close() {
        try {
            if (daemon.isAlive()) {
                resume(); // a paused daemon cannot act on SIGTERM
            }
        } catch (IOException | InterruptedException ignored) {
            // stopping anyway
        }
        daemon.stop(Duration.ofSeconds(15));
        TestDirs.deleteTree(dir);
    }
}
