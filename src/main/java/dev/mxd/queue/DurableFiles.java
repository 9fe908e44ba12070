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
 * docs/spool.md; the spool and Maildir delivery both use it.
 */
public final class DurableFiles {

    private DurableFiles() {}

    /**
     * Whether {@code e}, or an error it was caused by, has the system's text {@code text}: the JDK
     * tells ENOSPC, EDQUOT and EFBIG apart only by their strerror text (the C locale's words).
     */
    public static boolean systemSays(Throwable e, String text) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (String.valueOf(t.getMessage()).contains(text)) {
                return true;
            }
        }
        return false;
    }

    /**
     * An I/O error as an operator reads it: the file and what the system said of it. The JDK's file-system exceptions
     * carry only the path when the system's reason is their type (permission denied, no such file), so that a reason
     * read "maildir delivery failed: bob: /var/mail/bob/Maildir" and said nothing of why.
     */
    public static String describe(IOException e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getFile() != null) {
            String why = f.getReason() != null ? f.getReason()
                    : f instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : f instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
                    : f instanceof java.nio.file.NotDirectoryException ? "not a directory"
                    : f instanceof java.nio.file.FileAlreadyExistsException ? "exists already (not a directory here?)"
                    : f instanceof java.nio.file.DirectoryNotEmptyException ? "directory not empty"
                    : f.getClass().getSimpleName();
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + why;
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** Writes {@code parts} to {@code tmp}, then renames it to {@code target}; both on one file system. */
    public static void write(Path tmp, Path target, byte[]... parts) throws IOException {
        replace(tmp, target, parts);
        syncDirectory(target.getParent());
    }

    /**
     * {@link #write} without the directory fsync: the rename is durable once the caller fsyncs
     * {@code target}'s directory (the spool shares that fsync among concurrent writers).
     */
    static void replace(Path tmp, Path target, byte[]... parts) throws IOException {
        writeSynced(tmp, parts);
        renameOrDelete(tmp, target);
    }

    /** Renames a written, fsynced temporary file into place; the file is removed if that fails. */
    private static void renameOrDelete(Path tmp, Path target) throws IOException {
        try {
            rename(tmp, target);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Writes {@code parts} to a new file {@code file} and fsyncs it, without a rename. */
    private static void writeSynced(Path file, byte[]... parts) throws IOException {
        try (FileChannel ch = create(file, parts)) {
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /**
     * Writes {@code parts} to a new file and returns it open and not yet fsynced: the spool writes
     * a message's envelope, fsyncs the text, then the envelope, whose fsync then finds most of its
     * work done. The caller fsyncs, closes, and deletes the file on failure.
     */
    static FileChannel create(Path file, byte[]... parts) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            for (byte[] part : parts) {
                ByteBuffer b = ByteBuffer.wrap(part);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            return ch;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /** Atomically renames; the rename is durable only once the target's directory is fsynced (the caller's job). */
    static void rename(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Writes {@code head} then the first {@code length} octets of {@code body} to {@code tmp},
     * fsyncs, and renames it to {@code target}; the body is copied by the kernel, never held in
     * memory.
     */
    public static void write(Path tmp, Path target, byte[] head, Path body, long length) throws IOException {
        try (FileChannel ch = create(tmp, head); FileChannel in = FileChannel.open(body, StandardOpenOption.READ)) {
            long size = length;
            if (in.size() < size) {
                throw new IOException(body + " has " + in.size() + " octets, " + size + " expected");
            }
            for (long done = 0; done < size; ) {
                long n = in.transferTo(done, size - done, ch);
                if (n <= 0) {
                    throw new IOException("copying " + body + " stopped at byte " + done + " of " + size);
                }
                done += n;
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        renameOrDelete(tmp, target);
        syncDirectory(target.getParent());
    }

    /** Atomically renames and makes the rename durable (fsync of the target's directory). */
    public static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(to.getParent());
    }

    /**
     * Removes a file if it is there, as {@link Files#deleteIfExists} does, in one {@code unlink}:
     * the JDK's delete first asks the file's type (an {@code lstat}) to choose between unlink and
     * rmdir, a second system call for every file the spool removes. Only for regular files. When
     * the unlink fails, the JDK's delete tries again and tells why (gone is done; any other reason,
     * permission or I/O, is thrown).
     */
    static void unlink(Path file) throws IOException {
        if (!file.toFile().delete()) {
            Files.deleteIfExists(file);
        }
    }

    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
