package dev.mxd.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * File attributes set with chattr(1), for tests that need a file system refusing a change even to
 * root (CI runs as root, whom permissions do not stop): {@code +i} makes a file or directory
 * immutable (no rename, unlink, new entry or time change). Needs root and a file system with
 * attributes (ext4); {@link #change} says whether it worked, for an assumption.
 */
public final class Chattr {

    private Chattr() {
    }

    /** Runs {@code chattr CHANGE FILES…}; true when it succeeded. */
    public static boolean change(String change, List<Path> files) {
        List<String> command = new ArrayList<>(List.of("chattr", change));
        files.forEach(f -> command.add(f.toString()));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException noChattr) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
