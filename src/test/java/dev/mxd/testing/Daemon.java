package dev.mxd.testing;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The one start / poll / stop fixture behind every daemon a test runs (Knot, Dovecot, Postfix,
 * smtp-sink, clamd, spamd, rspamd, {@code mxd serve}): a process started with its output in a log
 * file, a wait until a readiness condition holds that fails at once, log included, when the process
 * died, and a stop by PID: SIGTERM, then SIGKILL for whatever is left after a bound.
 *
 * <p>Two ways in. {@link #start} keeps the process in the foreground, as the test's own child.
 * {@link #startDetached} runs a command that puts a master process in the background (Dovecot,
 * {@code postfix start}) and follows that master through its PID file. Either way only the PIDs
 * the test itself started, and their descendants, are ever signalled.
 */
public final class Daemon {

    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration KILL_WAIT = Duration.ofSeconds(30);

    private final String name;
    private final ProcessHandle handle;
    private final Optional<Process> process;
    private final List<Path> logs;

    private Daemon(String name, ProcessHandle handle, Optional<Process> process, List<Path> logs) {
        this.name = name;
        this.handle = handle;
        this.process = process;
        this.logs = List.copyOf(logs);
    }

    /**
     * Starts {@code command} in {@code dir} with its standard output and error appended to
     * {@code log}; more log files the daemon writes itself can be named for failure messages.
     */
    public static Daemon start(String name, List<String> command, Path dir, Path log, Path... moreLogs) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir == null ? null : dir.toFile())
                .redirectErrorStream(true).redirectOutput(Redirect.appendTo(log.toFile())).start();
        return new Daemon(name, p.toHandle(), Optional.of(p), logs(log, moreLogs));
    }

    /**
     * Runs {@code command} (which must exit 0 within {@code max} after putting the daemon in the
     * background, its output appended to {@code log}), then waits at most {@code max} for the
     * master's PID in {@code pidFile}. {@code moreLogs}: the daemon's own log files, for failure messages.
     */
    public static Daemon startDetached(String name, List<String> command, Path dir, Path log, Path pidFile, Duration max,
            Path... moreLogs) throws IOException, InterruptedException {
        List<Path> logs = logs(log, moreLogs);
        Process p = new ProcessBuilder(command).directory(dir == null ? null : dir.toFile())
                .redirectErrorStream(true).redirectOutput(Redirect.appendTo(log.toFile())).start();
        if (!p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within " + max.toSeconds() + " s: " + read(logs));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ": " + read(logs));
        }
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            Optional<Long> pid = pid(pidFile);
            Optional<ProcessHandle> master = pid.flatMap(ProcessHandle::of);
            if (master.isPresent()) {
                return new Daemon(name, master.get(), Optional.empty(), logs);
            }
            if (pid.isPresent() || System.nanoTime() > deadline) {
                throw new IOException(name + " left " + (pid.isPresent() ? "PID " + pid.get() + ", not running," : "no PID")
                        + " in " + pidFile + " within " + max.toSeconds() + " s: " + read(logs));
            }
            pause();
        }
    }

    /**
     * Polls {@code ready} every 100 ms for at most {@code max}. If the daemon exits first, or the time
     * runs out, it is stopped and an IOException carries its log.
     */
    public Daemon awaitReady(Duration max, BooleanSupplier ready) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            if (!isAlive()) {
                String exit = process.map(p -> " with " + p.exitValue()).orElse("");
                String out = log();
                stop(KILL_WAIT);
                throw new IOException(name + " exited" + exit + ": " + out);
            }
            if (ready.getAsBoolean()) {
                return this;
            }
            if (System.nanoTime() > deadline) {
                String out = log();
                stop(KILL_WAIT);
                throw new IOException(name + " was not ready within " + max.toSeconds() + " s: " + out);
            }
            pause();
        }
    }

    public long pid() {
        return handle.pid();
    }

    /** For a daemon started in the foreground, as its {@link Process} sees it (so the exit status is there once it is false). */
    public boolean isAlive() {
        return process.map(Process::isAlive).orElseGet(handle::isAlive);
    }

    /** The daemon's process and every process it forked that is still running. */
    public List<ProcessHandle> processes() {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(handle);
        handle.descendants().forEach(all::add);
        return all;
    }

    /** The exit status of a daemon started in the foreground, once it has exited. */
    public int exitValue() {
        return process.orElseThrow(() -> new IllegalStateException(name + " was started detached: no exit status")).exitValue();
    }

    /** Everything in its log files so far; never throws. */
    public String log() {
        return read(logs);
    }

    /**
     * SIGTERM to the daemon, then up to {@code grace} for it and the processes it had forked to exit;
     * SIGKILL for any of them still running after that. Does nothing to a daemon that already exited.
     */
    public void stop(Duration grace) {
        List<ProcessHandle> children = handle.descendants().toList();
        if (isAlive()) {
            handle.destroy();
        }
        awaitExit(children, grace);
    }

    /**
     * Waits at most {@code max} for a daemon asked to stop some other way ({@code postfix stop}), and
     * the {@code children} it had then; SIGKILL for those still running after that.
     */
    public void awaitExit(List<ProcessHandle> children, Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        try {
            while (System.nanoTime() < deadline && (isAlive() || children.stream().anyMatch(ProcessHandle::isAlive))) {
                pause();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kill(children);
    }

    /** SIGKILL to the daemon and the given processes it had forked, waiting (bounded) until the daemon is gone. */
    public void kill(List<ProcessHandle> children) {
        if (isAlive()) {
            handle.destroyForcibly();
        }
        for (ProcessHandle c : children) {
            if (c.isAlive()) {
                c.destroyForcibly();
            }
        }
        try {
            (process.isPresent() ? process.get().onExit() : handle.onExit()).get(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // gone or stuck in the kernel: nothing more a test can do
        }
    }

    private static void pause() throws InterruptedException {
        Thread.sleep(POLL.toMillis()); // the fixture's poll interval
    }

    private static List<Path> logs(Path log, Path... more) {
        List<Path> all = new ArrayList<>();
        all.add(log);
        all.addAll(List.of(more));
        return all;
    }

    private static Optional<Long> pid(Path pidFile) {
        try {
            String text = Files.exists(pidFile) ? Files.readString(pidFile).strip() : "";
            return text.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(text));
        } catch (IOException | NumberFormatException halfWritten) {
            return Optional.empty();
        }
    }

    private static String read(List<Path> logs) {
        StringBuilder text = new StringBuilder();
        for (Path f : logs) {
            if (Files.exists(f)) {
                text.append(Processes.log(f));
            }
        }
        return text.length() == 0 ? "(no log)" : text.toString();
    }
}
