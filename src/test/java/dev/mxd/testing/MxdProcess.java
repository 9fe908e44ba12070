package dev.mxd.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** {@code mxd serve} as a real separate JVM (the test's own class path), stopped or killed by its PID. */
public final class MxdProcess implements AutoCloseable {

    private final Daemon daemon;

    private MxdProcess(Daemon daemon) {
        this.daemon = daemon;
    }

    /**
     * Starts {@code mxd serve --config FILE}, its output appended to {@code log}, and waits (at most
     * 60 s) for it to say it is serving.
     */
    public static MxdProcess serve(Path config, Path log) throws IOException, InterruptedException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long before = Files.exists(log) ? Files.size(log) : 0; // a restart appends to the same log
        Daemon d = Daemon.start("mxd serve", List.of(javaBin, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main",
                "serve", "--config", config.toString()), null, log);
        d.awaitReady(Duration.ofSeconds(60), () -> saysServing(log, before));
        return new MxdProcess(d);
    }

    private static boolean saysServing(Path log, long from) {
        try {
            byte[] all = Files.readAllBytes(log);
            String added = new String(Arrays.copyOfRange(all, (int) Math.min(from, all.length), all.length), StandardCharsets.UTF_8);
            return added.contains("mxd serving");
        } catch (IOException e) {
            return false;
        }
    }

    public long pid() {
        return daemon.pid();
    }

    /** SIGKILL: no shutdown hook, no flush, nothing. */
    public void kill9() throws InterruptedException {
        daemon.kill(List.of());
    }

    /** SIGTERM and wait for the clean stop (at most 60 s, then SIGKILL); its exit status. */
    public int terminate() throws InterruptedException {
        daemon.stop(Duration.ofSeconds(60));
        return daemon.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (daemon.isAlive()) {
            terminate();
        }
    }
}
