package dev.mxd.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;

/**
 * Inodes of finished messages' text files, kept in {@code data/} as empty {@code spare.N} files
 * to hold the next messages' texts (docs/spool.md, "Spare text files"). Creating a file and
 * deleting one cost the file system an inode each: on ext4 the allocation searches the inode
 * bitmap and, without a journal, skips every inode freed in the last 30 seconds, which made it
 * the largest single cost of a busy spool. A spare is linked under its new name within
 * {@code data/}; no inode is made or freed.
 *
 * <p>A finished text is cut to nothing before it becomes a spare (delivered mail does not stay
 * readable in the spool), and a spare is handed out only once the rename that made it one is on
 * disk ({@link #mark}, {@link #synced}: the spool's shared fsync of {@code data/}), so that after a
 * power failure the finished message cannot come back with a later message's text in its file.
 * At most {@code limit} spares exist; they hold no data blocks.
 */
final class SpareFiles implements GroupSync.Listener {

    /** Name prefix of a spare in {@code data/}; queue ids never contain a dot. */
    static final String PREFIX = "spare.";

    private final Path data;
    private final int limit;
    private final ArrayDeque<Path> ready = new ArrayDeque<>();   // their rename is on disk: may be taken
    private final ArrayDeque<Given> given = new ArrayDeque<>();  // renamed, not yet known to be on disk
    private int held;        // ready, given, and being made: never more than limit
    private long counter;    // the next spare's name
    private long sequence;   // the next given one's place

    private record Given(Path spare, long sequence) {}

    SpareFiles(Path data, int limit) {
        this.data = data;
        this.limit = limit;
    }

    /** Whether {@code name} (in {@code data/}) is a spare's. */
    static boolean isSpare(String name) {
        return name.startsWith(PREFIX);
    }

    /**
     * Takes a spare found in {@code data/} at start-up (usable after the next fsync of
     * {@code data/}, like any other); returns false when there are enough already or the name is
     * not one of ours (the caller deletes it).
     */
    synchronized boolean adopt(Path spare) {
        if (held >= limit) {
            return false;
        }
        String suffix = spare.getFileName().toString().substring(PREFIX.length());
        try {
            counter = Math.max(counter, Long.parseLong(suffix) + 1);
            // A regular file with this one name: not a second name of a text (a crash between a take's
            // link and its unlink), not a symbolic link a text would be written through.
            if (!Files.isRegularFile(spare, LinkOption.NOFOLLOW_LINKS) || links(spare) != 1) {
                return false;
            }
            empty(spare); // a spare written by a take that never finished, or by an older version, holds no text
        } catch (NumberFormatException | IOException | UnsupportedOperationException foreign) {
            return false;
        }
        held++;
        given.add(new Given(spare, sequence++));
        return true;
    }

    /**
     * Links a spare under {@code target} and removes its spare name; returns true, or false when
     * there is none ready or {@code target} exists (the caller then creates the file, as without
     * spares). The file is empty.
     */
    boolean take(Path target) {
        while (true) {
            Path spare;
            synchronized (this) {
                spare = ready.poll();
            }
            if (spare == null) {
                return false;
            }
            try {
                // link, not rename: rename(2) would replace a file of that name, link(2) refuses it
                Files.createLink(target, spare);
            } catch (FileAlreadyExistsException taken) {
                synchronized (this) {
                    ready.push(spare);
                }
                return false;
            } catch (NoSuchFileException gone) {
                dropped();
                continue; // removed by hand meanwhile: try the next
            } catch (IOException | UnsupportedOperationException e) {
                dropped();
                unlinkQuietly(spare);
                return false;
            }
            dropped();
            try {
                DurableFiles.unlink(spare);
            } catch (IOException e) {
                // A spare name must never stay on a text: undo, and let the caller create its file.
                unlinkQuietly(target);
                return false;
            }
            return true;
        }
    }

    /**
     * Empties the text file of a finished message and keeps it as a spare, or removes it when
     * there are enough spares. Like the unlink it replaces, nothing here waits for the disk: after
     * a crash the file is a spare, or a text without an envelope, which start-up removes.
     */
    void give(Path text) throws IOException {
        Path spare = null;
        synchronized (this) {
            if (held < limit) {
                held++;
                spare = data.resolve(PREFIX + counter++);
            }
        }
        if (spare == null) {
            DurableFiles.unlink(text);
            return;
        }
        try {
            if (links(text) != 1) {
                // Another name still holds this text (an envelope link left elsewhere): never empty or reuse it.
                dropped();
                DurableFiles.unlink(text);
                return;
            }
            empty(text); // a delivered message's text does not stay in the spool
            Files.move(text, spare, StandardCopyOption.ATOMIC_MOVE); // rename(2) within data/
        } catch (NoSuchFileException gone) {
            dropped();
            return; // removed meanwhile
        } catch (IOException | RuntimeException e) {
            dropped();
            DurableFiles.unlink(text);
            throw e;
        }
        synchronized (this) {
            given.add(new Given(spare, sequence++));
        }
    }

    /** Cuts a file to nothing (one open with O_TRUNC), never through a symbolic link. */
    private static void empty(Path file) throws IOException {
        try (FileChannel ignored = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                LinkOption.NOFOLLOW_LINKS)) {
            // the open did it
        }
    }

    private static int links(Path file) throws IOException {
        return ((Number) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
    }

    private synchronized void dropped() {
        held--;
    }

    /** Before an fsync of {@code data/}: the spares given so far are on disk once it succeeds. */
    @Override
    public synchronized long mark() {
        return sequence;
    }

    /** After an fsync of {@code data/} that began at {@code mark}: the spares given before it may be taken. */
    @Override
    public synchronized void synced(long mark) {
        while (!given.isEmpty() && given.peek().sequence() < mark) {
            ready.push(given.poll().spare());
        }
    }

    /** How many spares there are now, ready or not. */
    synchronized int size() {
        return held;
    }

    private static void unlinkQuietly(Path p) {
        try {
            DurableFiles.unlink(p);
        } catch (IOException ignored) {
            // start-up keeps or removes a spare name it finds
        }
    }
}
