package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DurableFiles#unlink} behaves as {@code Files.deleteIfExists} for the spool's files, in one system call. */
class DurableFilesUnlinkTest {

    @TempDir
    Path dir;

    @Test
    void removesAFile() throws IOException {
        Path f = Files.writeString(dir.resolve("ID"), "text");
        DurableFiles.unlink(f);
        assertThat(f).doesNotExist();
    }

    @Test
    void aFileAlreadyGoneIsNoError() throws IOException {
        DurableFiles.unlink(dir.resolve("never-there"));
    }

    @Test
    void aLinkIsRemovedNotItsTarget() throws IOException {
        Path text = Files.writeString(dir.resolve("ID"), "text");
        Path envelope = Files.createLink(dir.resolve("ID.json"), text);
        DurableFiles.unlink(envelope);
        assertThat(envelope).doesNotExist();
        assertThat(text).hasContent("text");
    }

    @Test
    void whatCannotBeRemovedIsAnError() throws IOException {
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        assertThatThrownBy(() -> DurableFiles.unlink(full)).isInstanceOf(IOException.class).hasMessageContaining("full");
        assertThat(full).exists();
    }
}
