package dev.mxd.queue;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Group commit for one directory: every caller needs the directory's entries it has just
 * renamed or deleted to be on disk, and one {@code fsync} of the directory makes all of them
 * durable at once. The first caller to arrive syncs for everyone whose change came before the
 * sync started; callers that arrive meanwhile wait and are covered by the next sync, which one
 * of them runs. Under load one fsync serves many messages; alone, a caller pays exactly one
 * fsync, as before.
 *
 * <p>Each caller returns only after an fsync that started after its call, so the guarantee
 * is the same as calling {@link DurableFiles#syncDirectory} itself.
 */
final class GroupSync {

    private final Path directory;

    /** The callers waiting for one fsync, and its result. */
    private static final class Batch {
        boolean done;
        IOException failure;
    }

    private Batch open = new Batch(); // callers arriving now join it; its fsync starts only after they joined
    private boolean syncing;

    GroupSync(Path directory) {
        this.directory = directory;
    }

    /** Returns once this directory's entries changed before the call are on disk; throws if that fsync failed. */
    void await() throws IOException {
        Batch batch;
        synchronized (this) {
            batch = open;
            while (true) {
                if (batch.done) {
                    if (batch.failure != null) {
                        throw new IOException("fsync of " + directory + " failed: " + batch.failure.getMessage(), batch.failure);
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
                    throw new IOException("interrupted while waiting for the fsync of " + directory, e);
                }
            }
        }
        IOException error = null;
        try {
            DurableFiles.syncDirectory(directory);
        } catch (IOException e) {
            error = e;
        }
        synchronized (this) {
            batch.done = true;
            batch.failure = error;
            syncing = false;
            notifyAll();
        }
        if (error != null) {
            throw error;
        }
    }
}
