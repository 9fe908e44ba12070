package dev.mxd.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real daemon a test started in its own temporary directory: waited for until it answers,
 * paused and resumed with SIGSTOP/SIGCONT (a stalled engine, for timeouts), stopped by its PID.
 */
public class PeerProcess implements AutoCloseable {

    protected final String name;
    protected final Path dir;
    protected final Process process;
    protected final Path log;

    protected PeerProcess(String name, Path dir, List<String> command) throws IOException {
        this.name = name;
        this.dir = dir;
        this.log = dir.resolve(name + ".log");
        this.process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
    }

    /** Polls {@code ready} every 100 ms for at most {@code seconds}; fails with the daemon's log. */
    protected void awaitReady(int seconds, BooleanSupplier ready) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                String out = log();
                close();
                throw new IOException(name + " exited with " + process.exitValue() + ": " + out);
            }
            if (ready.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        String out = log();
        close();
        throw new IOException(name + " did not answer within " + seconds + " s: " + out);
    }

    public long pid() {
        return process.pid();
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
        List<String> cmd = new ArrayList<>(List.of("kill", sig, String.valueOf(process.pid())));
        process.descendants().forEach(p -> cmd.add(String.valueOf(p.pid()))); // workers forked by the daemon we started
        Process kill = new ProcessBuilder(cmd).inheritIO().start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed");
        }
    }

    public String log() {
        return Processes.log(log);
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
            if (process.isAlive()) {
                resume(); // a paused daemon cannot act on SIGTERM
            }
        } catch (IOException | InterruptedException ignored) {
            // stopping anyway
        }
        Processes.stop(process, 15);
        TestDirs.deleteTree(dir);
    }
}
