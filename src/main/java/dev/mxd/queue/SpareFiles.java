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
import java.time.Duration;
import java.util.Map;

/**
 * Inodes of finished messages' text files, kept in {@code data/} as {@code spare.N} files to hold
 * the next messages' texts (docs/spool.md, "Spare text files"). Creating a file and deleting one
 * cost the file system an inode each: on ext4 the allocation searches the inode bitmap and,
 * without a journal, skips every inode freed in the last 30 seconds, which made it the largest
 * single cost of a busy spool. A spare is linked under its new name within {@code data/}; no
 * inode is made or freed.
 *
 * <p>A finished text no larger than {@code keepUpTo} keeps its blocks when it becomes a spare: the
 * next text is written over them and cut to its length, so a busy spool neither frees nor
 * allocates blocks for it either. What it held stays no longer than {@code hold}: {@link #sweep}
 * empties every spare that has held a delivered text that long, and a larger text is emptied
 * at once. A spare is handed out only once the rename that made it one is on disk
 * ({@link #mark}, {@link #synced}: the spool's shared fsync of {@code data/}), so that after a
 * power failure the finished message cannot come back with a later message's text in its file.
 * At most {@code limit} spares exist.
 */
final class SpareFiles implements GroupSync.Listener {

    /** Name prefix of a spare in {@code data/}; queue ids never contain a dot. */
    static final String PREFIX = "spare.";

    private final Path data;
    private final int limit;
    private final long keepUpTo;
    private final long holdNanos;
    // A spare is its number (its name is PREFIX and the number), whether it holds a finished text, and
    // when it was given to the pool; kept in arrays rather than as objects, since a spare lives for
    // seconds, long enough for the collector to promote an object of its to the old generation.
    private final Spares ready;  // their rename is on disk: may be taken, the newest first
    private final Spares given;  // renamed, not yet known to be on disk, in the order given
    private int held;        // ready, given, being made or being emptied: never more than limit
    private long counter;    // the next spare's name
    private long sequence;   // the next given one's place

    /** A list of spares, at most the pool's limit, in primitive arrays. */
    private static final class Spares {
        final long[] number;
        final long[] since;
        final long[] place;       // the sequence of a given spare
        final boolean[] holding;  // it has a finished text in it
        int size;

        Spares(int capacity) {
            number = new long[capacity];
            since = new long[capacity];
            place = new long[capacity];
            holding = new boolean[capacity];
        }

        void add(long n, boolean h, long at, long p) {
            number[size] = n;
            holding[size] = h;
            since[size] = at;
            place[size] = p;
            size++;
        }

        /** Removes the first {@code count}, keeping the order of the rest. */
        void dropFirst(int count) {
            int rest = size - count;
            System.arraycopy(number, count, number, 0, rest);
            System.arraycopy(holding, count, holding, 0, rest);
            System.arraycopy(since, count, since, 0, rest);
            System.arraycopy(place, count, place, 0, rest);
            size = rest;
        }

        /** Moves the spares that have held a text for {@code minimumAge} at {@code now} to the end of {@code out}, keeping the order of the rest. */
        void takeHolding(long now, long minimumAge, Spares out) {
            int kept = 0;
            for (int i = 0; i < size; i++) {
                if (holding[i] && now - since[i] >= minimumAge) {
                    out.add(number[i], true, since[i], place[i]);
                } else {
                    number[kept] = number[i];
                    holding[kept] = holding[i];
                    since[kept] = since[i];
                    place[kept] = place[i];
                    kept++;
                }
            }
            size = kept;
        }
    }

    /** Spares that are always empty (tests of the layout). */
    SpareFiles(Path data, int limit) {
        this(data, limit, 0, Duration.ZERO);
    }

    /**
     * @param keepUpTo a finished text up to this size keeps its blocks for the next text; a larger one is emptied
     * @param hold     how long a spare may keep a finished text before {@link #sweep} empties it
     */
    SpareFiles(Path data, int limit, long keepUpTo, Duration hold) {
        this.data = data;
        this.limit = limit;
        this.keepUpTo = keepUpTo;
        this.holdNanos = hold.toNanos();
        this.ready = new Spares(limit);
        this.given = new Spares(limit);
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
        long number;
        try {
            number = Long.parseLong(suffix);
            if (number < 0 || !suffix.equals(Long.toString(number))) {
                return false; // a name such as spare.007 or spare.+7: not one this pool gave
            }
            counter = Math.max(counter, number + 1);
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
        given.add(number, false, System.nanoTime(), sequence++);
        return true;
    }

    /**
     * Links a spare under {@code target} and removes its spare name; returns true, or false when
     * there is none ready or {@code target} exists (the caller then creates the file, as without
     * spares). The file may hold a finished text: the caller writes from its start and cuts it to
     * the length written before anything reads it.
     */
    boolean take(Path target) {
        while (true) {
            long number;
            boolean holding;
            long since;
            long place;
            synchronized (this) {
                if (ready.size == 0) {
                    return false;
                }
                int last = --ready.size;
                number = ready.number[last];
                holding = ready.holding[last];
                since = ready.since[last];
                place = ready.place[last];
            }
            Path spare = path(number);
            try {
                // link, not rename: rename(2) would replace a file of that name, link(2) refuses it
                Files.createLink(target, spare);
            } catch (FileAlreadyExistsException exists) {
                synchronized (this) {
                    ready.add(number, holding, since, place);
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
     * Keeps the text file of a finished message as a spare (emptied first when larger than
     * {@code keepUpTo}), or removes it when there are enough spares. Like the unlink it replaces,
     * nothing here waits for the disk: after a crash the file is a spare (emptied at start-up), or
     * a text without an envelope, which start-up removes.
     */
    void give(Path text) throws IOException {
        long number = 0;
        boolean room = false;
        synchronized (this) {
            if (held < limit) {
                held++;
                number = counter++;
                room = true;
            }
        }
        if (!room) {
            DurableFiles.unlink(text);
            return;
        }
        Path spare = path(number);
        boolean holding;
        try {
            Map<String, Object> attributes = Files.readAttributes(text, "unix:nlink,size", LinkOption.NOFOLLOW_LINKS);
            if (((Number) attributes.get("nlink")).intValue() != 1) {
                // Another name still holds this text (an envelope link left elsewhere): never empty or reuse it.
                dropped();
                DurableFiles.unlink(text);
                return;
            }
            long size = ((Number) attributes.get("size")).longValue();
            holding = size > 0 && size <= keepUpTo && holdNanos > 0;
            if (size > 0 && !holding) {
                empty(text); // a large text's blocks are not kept, nor is any text when spares are not swept
            }
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
            given.add(number, holding, System.nanoTime(), sequence++);
        }
    }

    /**
     * Empties the spares that have held a finished text for {@code hold} or longer, ready or
     * not yet on disk. Each is out of the pool while it is emptied, so that no commit writes into
     * it meanwhile. The queue manager calls this a few times a second from a thread of its own.
     */
    void sweep() {
        if (holdNanos > 0) {
            sweep(holdNanos);
        }
    }

    /** Empties every spare that holds a finished text, however recent (at shutdown). */
    void sweepAll() {
        sweep(0);
    }

    private void sweep(long minimumAge) {
        long now = System.nanoTime();
        Spares old;
        synchronized (this) {
            old = new Spares(ready.size + given.size);
            ready.takeHolding(now, minimumAge, old);
            given.takeHolding(now, minimumAge, old);
        }
        for (int i = 0; i < old.size; i++) {
            Path spare = path(old.number[i]);
            try {
                empty(spare);
            } catch (IOException | RuntimeException failed) {
                dropped();
                unlinkQuietly(spare); // removed by hand, or cannot be cut: no longer a spare
                continue;
            }
            synchronized (this) {
                // back as if given now: taken again after the next fsync of data/, which also covers a rename not yet on disk
                given.add(old.number[i], false, old.since[i], sequence++);
            }
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
        int n = 0;
        while (n < given.size && given.place[n] < mark) {
            ready.add(given.number[n], given.holding[n], given.since[n], given.place[n]);
            n++;
        }
        given.dropFirst(n);
    }

    private Path path(long number) {
        return data.resolve(PREFIX + number);
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
