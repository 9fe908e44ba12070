package dev.mxd.queue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes that survive a crash: write a temporary file, fsync it, rename it into place, fsync
 * the directory (so the rename itself is on disk). This is the durability contract of
 * ARCHITECTURE.md; the spool and Maildir delivery both use it.
 */
public final class DurableFiles {

    private DurableFiles() {}

    /** Writes {@code parts} to {@code tmp}, then renames it to {@code target}; both on one file system. */
    public static void write(Path tmp, Path target, byte[]... parts) throws IOException {
        write(tmp, target, ch -> {
            for (byte[] part : parts) {
                writeFully(ch, part);
            }
        });
    }

    /**
     * Writes {@code head} then the content of {@code body} to {@code tmp}, fsyncs, and renames it
     * to {@code target}; the body is copied by the kernel, never held in memory.
     */
    public static void write(Path tmp, Path target, byte[] head, Path body) throws IOException {
        write(tmp, target, ch -> {
            writeFully(ch, head);
            try (FileChannel in = FileChannel.open(body, StandardOpenOption.READ)) {
                long size = in.size();
                for (long done = 0; done < size; ) {
                    long n = in.transferTo(done, size - done, ch);
                    if (n <= 0) {
                        throw new IOException("copying " + body + " stopped at byte " + done + " of " + size);
                    }
                    done += n;
                }
            }
        });
    }

    /** What goes into a file being written. */
    @FunctionalInterface
    private interface Content {
        void writeTo(FileChannel ch) throws IOException;
    }

    /** Content into {@code tmp}, fsync, rename to {@code target}, fsync its directory; nothing left behind on failure. */
    private static void write(Path tmp, Path target, Content content) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            content.writeTo(ch);
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            move(tmp, target);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    private static void writeFully(FileChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Atomically renames and makes the rename durable (fsync of the target's directory). */
    public static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(to.getParent());
    }

    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
