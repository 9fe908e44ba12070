package dev.mxd.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Group commit for directories: every caller needs the entries it has just renamed or deleted
 * in them to be on disk, and one {@code fsync} of each directory makes all of them durable at
 * once. The first caller to arrive syncs for everyone whose change came before the
 * sync started; callers that arrive meanwhile wait and are covered by the next sync, which one
 * of them runs. Under load one fsync serves many messages; alone, a caller pays exactly one
 * fsync, as before.
 *
 * <p>Each caller returns only after an fsync that started after its call, so the guarantee
 * is the same as calling {@link DurableFiles#syncDirectory} itself.
 *
 * <p>Each directory is opened once and kept open: an fsync acts on the directory itself, not on
 * what it held when it was opened, so a long-lived descriptor makes the same entries durable
 * and saves an open and a close per fsync. A descriptor whose fsync fails is closed, and the
 * next sync opens the directory again. (The spool's directories are made at start-up and never
 * replaced while it runs.)
 */
final class GroupSync {

    /** Told around each fsync: what was done before {@link #mark} is on disk once {@link #synced} is called with it. */
    interface Listener {
        long mark();

        void synced(long mark);
    }

    private static final Listener NONE = new Listener() {
        @Override
        public long mark() {
            return 0;
        }

        @Override
        public void synced(long mark) {
            // nobody listens
        }
    };

    private final List<Path> directories;
    private final Listener listener;
    /** One open descriptor per directory, opened at the first sync; used only by the one caller syncing. */
    private final FileChannel[] channels;

    /** The callers waiting for one fsync, and its result. */
    private static final class Batch {
        boolean done;
        IOException failure;
    }

    private Batch open = new Batch(); // callers arriving now join it; its fsync starts only after they joined
    private boolean syncing;

    GroupSync(Path... directories) {
        this(NONE, directories);
    }

    GroupSync(Listener listener, Path... directories) {
        this.listener = listener;
        this.directories = List.of(directories);
        this.channels = new FileChannel[directories.length];
    }

    /** Returns once the directories' entries changed before the call are on disk; throws if an fsync failed. */
    void await() throws IOException {
        Batch batch;
        synchronized (this) {
            batch = open;
            while (true) {
                if (batch.done) {
                    if (batch.failure != null) {
                        throw new IOException("fsync of " + directories + " failed: " + batch.failure.getMessage(), batch.failure);
                    }
                    return;
                }
                if (!syncing) {
                    syncing = true; // this caller syncs for its whole batch; later callers form the next one
                    open = new Batch();
                    break;
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the fsync of " + directories, e);
                }
            }
        }
        IOException error = null;
        try {
            long mark = listener.mark();
            for (int i = 0; i < channels.length; i++) {
                sync(i);
            }
            listener.synced(mark);
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException | Error e) {
            // Not an I/O failure (out of memory, a bug): this batch failed all the same, and the next
            // caller must be able to start a sync, or acceptance would wait for this one for ever.
            error = new IOException("the fsync of " + directories + " failed: " + e, e);
        } finally {
            synchronized (this) {
                batch.done = true;
                batch.failure = error;
                syncing = false;
                notifyAll();
            }
        }
        if (error != null) {
            throw error;
        }
    }

    /** Closes the kept descriptors (the spool is closed); a later sync would open them again. */
    synchronized void close() {
        for (int i = 0; i < channels.length; i++) {
            FileChannel ch = channels[i];
            channels[i] = null;
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // a directory opened for reading: nothing to lose
                }
            }
        }
    }

    /** Fsyncs directory {@code i} through its kept descriptor; only the caller that set {@code syncing} calls this. */
    private void sync(int i) throws IOException {
        FileChannel ch = channels[i];
        if (ch == null) {
            ch = FileChannel.open(directories.get(i), StandardOpenOption.READ);
            channels[i] = ch;
        }
        try {
            ch.force(true);
        } catch (IOException e) {
            channels[i] = null; // opened afresh next time
            try {
                ch.close();
            } catch (IOException ignored) {
                // the fsync's failure is what the callers hear about
            }
            throw e;
        }
    }
}
