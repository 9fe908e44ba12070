package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin token is written whole or not at all (beside its place, fsynced, then linked in): an
 * empty token file, which a full disk left with the write in place, stopped every later start.
 */
class AdminTokenTest {

    @Test
    void aNewTokenIsPrivateAndKeptAcrossLoads(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("admin").resolve("token");
        AdminToken.loadOrCreate(file);
        String first = Files.readString(file).strip();
        assertThat(first).matches("[A-Za-z0-9_-]{43}");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        AdminToken.loadOrCreate(file);
        assertThat(Files.readString(file).strip()).isEqualTo(first);
        try (var left = Files.list(file.getParent())) {
            assertThat(left).as("no temporary file left beside it").containsExactly(file);
        }
    }

    @Test
    void anEmptyTokenFileLeftByAFullDiskIsWrittenAgain(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("token"));
        AdminToken.loadOrCreate(file);
        assertThat(Files.readString(file).strip()).matches("[A-Za-z0-9_-]{43}");
    }
}
