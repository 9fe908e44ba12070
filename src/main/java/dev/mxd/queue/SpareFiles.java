package dev.mxd.queue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;

/**
 * Text files of finished messages, kept in {@code data/} as {@code spare.N} to hold the next
 * messages' texts (docs/spool.md, "Spare text files"). Creating a file and deleting one cost the
 * file system an inode each: on ext4 the allocation searches the inode bitmap and, without a
 * journal, skips every inode freed in the last 30 seconds, which made it the largest single cost
 * of a busy spool. A spare is renamed to its new name within {@code data/} and written over
 * from its first octet, then cut to its new length; no inode is made or freed.
 *
 * <p>Only small texts become spares ({@link #KEPT_SIZE}) and at most {@link #limit} of them are
 * kept, so the spares hold a bounded amount of disk. Only a finished message's text becomes a
 * spare, in the step that finishes it: nothing reads a text after that (an operator's delete
 * removes the file instead, since a reader may still have it open).
 */
final class SpareFiles {

    /** Name prefix of a spare in {@code data/}; queue ids never contain a dot. */
    static final String PREFIX = "spare.";
    /** Files up to this many octets are kept: a text the spool held in memory, and room for its first envelope. */
    static final long KEPT_SIZE = Spool.MEMORY_LIMIT + 16 * 1024;

    private final Path data;
    private final int limit;
    private final ArrayDeque<Path> spares = new ArrayDeque<>();
    private long counter;

    SpareFiles(Path data, int limit) {
        this.data = data;
        this.limit = limit;
    }

    /** Whether {@code name} (in {@code data/}) is a spare's. */
    static boolean isSpare(String name) {
        return name.startsWith(PREFIX);
    }

    /**
     * Takes a spare found in {@code data/} at start-up; returns false when there are enough
     * already (the caller deletes it).
     */
    synchronized boolean adopt(Path spare) {
        if (spares.size() >= limit) {
            return false;
        }
        String suffix = spare.getFileName().toString().substring(PREFIX.length());
        try {
            counter = Math.max(counter, Long.parseLong(suffix) + 1);
        } catch (NumberFormatException foreign) {
            return false; // not one of ours: the caller removes it
        }
        spares.push(spare);
        return true;
    }

    /**
     * Renames a spare to {@code target}, which must not exist, and returns true; false when there
     * is no spare (the caller creates the file). The file still holds an old text: the caller
     * writes from its first octet and cuts it to the new length before its fsync.
     */
    boolean take(Path target) {
        while (true) {
            Path spare;
            synchronized (this) {
                spare = spares.poll();
            }
            if (spare == null) {
                return false;
            }
            try {
                Files.move(spare, target, StandardCopyOption.ATOMIC_MOVE); // rename(2): one directory, no inode
                return true;
            } catch (NoSuchFileException gone) {
                // removed by hand meanwhile: try the next
            } catch (IOException e) {
                unlinkQuietly(spare);
                return false;
            }
        }
    }

    /**
     * Keeps the text file of a finished message as a spare, or removes it when it is large or
     * there are enough spares. Like the unlink it replaces, the rename is not waited for on disk:
     * after a crash the file is either a spare or a text without an envelope, which start-up
     * removes.
     */
    void give(Path text) throws IOException {
        long size = text.toFile().length(); // one stat; 0 when it is gone
        Path spare = null;
        synchronized (this) {
            if (size > 0 && size <= KEPT_SIZE && spares.size() < limit) {
                spare = data.resolve(PREFIX + counter++);
            }
        }
        if (spare == null) {
            DurableFiles.unlink(text);
            return;
        }
        try {
            Files.move(text, spare, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException gone) {
            return; // removed meanwhile
        }
        synchronized (this) {
            spares.push(spare);
        }
    }

    /** How many spares there are now. */
    synchronized int size() {
        return spares.size();
    }

    private static void unlinkQuietly(Path p) {
        try {
            DurableFiles.unlink(p);
        } catch (IOException ignored) {
            // start-up removes a spare it does not keep
        }
    }
}
