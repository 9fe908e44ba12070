package dev.mxd.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Test file helpers. */
public final class TestDirs {

    private TestDirs() {}

    /** A new temporary directory anyone may write in: smtp-sink writes its dumps there as nobody. */
    public static Path forSmtpSink(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        return dir;
    }

    /**
     * Writes {@code ORIGIN.zone} in {@code dir}: the zone's SOA and NS (ns at 127.0.0.53, never asked),
     * then {@code records}, one per line, relative to the origin.
     */
    public static Path zone(Path dir, String origin, String... records) throws IOException {
        StringBuilder sb = new StringBuilder("$ORIGIN " + origin + ".\n$TTL 300\n@ IN SOA ns." + origin + ". hostmaster." + origin
                + ". ( 1 3600 600 86400 60 )\n@ IN NS ns\nns IN A 127.0.0.53\n");
        for (String r : records) {
            sb.append(r).append('\n');
        }
        return Files.writeString(dir.resolve(origin + ".zone"), sb.toString());
    }

    /** Deletes a directory tree, best effort (tests clean up after themselves). */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
