package dev.mxd.queue;

import dev.mxd.mail.MessageStore;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The text of one message while it arrives. The first {@code memoryLimit} octets stay in
 * memory (most mail is small, and a small message then costs one write at the end); past that
 * the text spills to its final file, {@code spool/data/ID}, and every later piece is written
 * straight through, so a connection holds at most {@code memoryLimit} octets of text however
 * large the message is. The text is written where it will stay and never renamed: until its
 * envelope exists it is not a message, and start-up removes text without an envelope. Nothing
 * is fsynced until {@link #persist}, the first step of the durability contract (docs/spool.md).
 *
 * <p>Not thread-safe: written on one thread, then persisted or discarded after a hand-off that
 * orders memory (an executor submission).
 */
final class IncomingText {

    private final Path path;
    private final int memoryLimit;
    private final SpareFiles spares;

    private byte[] memory = new byte[8192]; // a typical message (a few KB and a Received header) without growing
    private int inMemory;
    private FileChannel file;     // open once the text spilled
    private boolean spilled;
    private long size;
    private IOException failure;  // the first write error: the message will be answered 452
    private boolean finished;
    private boolean reused;       // the file is a spare (SpareFiles), linked into place rather than created
    private boolean ours;         // the name at path is this text's (made here): only then may a failure remove it

    /** @param spares finished texts' files to write this one into, when it is whole in memory at {@link #persist} */
    IncomingText(Path path, int memoryLimit, SpareFiles spares) {
        this.path = path;
        this.memoryLimit = memoryLimit;
        this.spares = spares;
    }

    /** Appends text; an I/O error is remembered for {@link #persist}, not thrown (the client is still sending). */
    void write(byte[] b, int off, int len) {
        if (finished || failure != null) {
            return;
        }
        size += len;
        try {
            if (file == null && inMemory + len <= memoryLimit) {
                if (inMemory + len > memory.length) {
                    memory = Arrays.copyOf(memory, Math.min(memoryLimit, Math.max(memory.length * 2, inMemory + len)));
                }
                System.arraycopy(b, off, memory, inMemory, len);
                inMemory += len;
                return;
            }
            spill(false);
            writeFully(ByteBuffer.wrap(b, off, len));
        } catch (IOException e) {
            failure = e;
            closeQuietly();
            deleteQuietly();
        }
    }

    /**
     * Moves what is in memory to the file and frees the memory. With {@code reuse} (at
     * {@link #persist} only, when nothing reads the file before it is whole and cut to length) the
     * file may be a spare, linked into place instead of created.
     */
    private void spill(boolean reuse) throws IOException {
        if (file != null) {
            return;
        }
        reused = reuse && spares.take(path);
        ours = reused; // a spare is linked only to a free name
        file = reused ? FileChannel.open(path, StandardOpenOption.WRITE)
                : FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        ours = true; // CREATE_NEW made it (a name taken already, another message's, throws before this)
        spilled = !finished && failure == null && size > memoryLimit;
        writeFully(ByteBuffer.wrap(memory, 0, inMemory));
        memory = null;
        inMemory = 0;
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            file.write(b);
        }
    }

    /** Octets written so far. */
    long size() {
        return size;
    }

    /**
     * The whole text, when it is all in memory and nothing failed (not copied: read it before
     * {@link #persist}, which lets the memory go); null when it went to its file or a write failed.
     */
    ByteBuffer whole() {
        return file == null && failure == null && !finished ? ByteBuffer.wrap(memory, 0, inMemory) : null;
    }

    /** Whether the text went to its file before the end (it was larger than the memory limit). */
    boolean spilled() {
        return spilled;
    }

    /**
     * The text so far, read where it is: the memory buffer (not copied) or the temporary file
     * (written through the file channel, so a reader sees every byte). Throws the remembered
     * write error, if any.
     */
    MessageStore.ReceivedText received() throws IOException {
        if (failure != null) {
            throw new IOException("the message text could not be written: " + failure.getMessage(), failure);
        }
        if (finished) {
            throw new IllegalStateException("message text already persisted or discarded");
        }
        long length = size;
        byte[] head = memory;
        int headLength = inMemory;
        boolean onDisk = file != null;
        return new MessageStore.ReceivedText() {
            @Override
            public long size() {
                return length;
            }

            @Override
            public InputStream open() throws IOException {
                return onDisk ? Files.newInputStream(path) : new ByteArrayInputStream(head, 0, headLength);
            }
        };
    }

    /**
     * Replaces the text with what {@code rewrite} makes of it: written to a second file beside
     * this one and renamed over it (in one directory, which the caller fsyncs). The new text is
     * made durable by {@link #persist} like any other. Nothing is left behind on failure.
     */
    void rewrite(MessageStore.TextRewrite rewrite) throws IOException {
        Path rewritten = path.resolveSibling(path.getFileName() + ".rewritten");
        FileChannel ch = null;
        try {
            MessageStore.ReceivedText original = received();
            ch = FileChannel.open(rewritten, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try (InputStream in = original.open()) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
                rewrite.copy(in, out);
                out.flush();
            }
            long written = ch.size();
            boolean mine = ours;
            discard();
            if (mine) {
                DurableFiles.rename(rewritten, path);
            } else {
                // The text was all in memory: its name was never made, and may be another message's by now (an id drawn
                // twice). A rename would replace that message's text; a link fails on a name that is taken.
                Files.createLink(path, rewritten);
                ours = true;
                Files.delete(rewritten);
            }
            finished = false;
            file = ch;
            size = written;
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            discard();
            Files.deleteIfExists(rewritten);
            throw e;
        }
    }

    /**
     * Makes the text durable where it is, followed by {@code trailer} (the envelope, which is not
     * counted in {@link #size}): written out (if it was all in memory) and, with {@code sync},
     * fsynced; without it the caller has text and envelope made durable elsewhere (the accept
     * journal). Its directory entry is durable once the caller fsyncs the directory, which it
     * shares with other messages (group commit). Throws the write error remembered earlier, if
     * any; on any failure nothing is left behind.
     */
    void persist(byte[] trailer, boolean sync) throws IOException {
        if (finished) {
            throw new IllegalStateException("message text already persisted or discarded");
        }
        try {
            if (failure != null) {
                throw failure;
            }
            spill(true);
            writeFully(ByteBuffer.wrap(trailer));
            if (reused) {
                file.truncate(file.position()); // a spare may hold a finished text (and its envelope) beyond this one: never leave it out
            }
            if (sync) {
                file.force(true);
            }
            file.close();
            finished = true;
        } catch (IOException e) {
            discard();
            throw e;
        }
    }

    /** Drops the text: closes and deletes the temporary file. Safe to call again. */
    void discard() {
        finished = true;
        memory = null;
        closeQuietly();
        deleteQuietly();
    }

    private void closeQuietly() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // the file is deleted next; start-up removes text without an envelope anyway
            }
        }
    }

    /** Whether the file at the text's name was made for this text (a failure must never remove another message's). */
    boolean madeHere() {
        return ours;
    }

    private void deleteQuietly() {
        if (!ours) {
            return; // never made, or the name was another message's (an id drawn twice): not this text's to remove
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // start-up removes text without an envelope
        }
    }
}
