package dev.mxd.queue;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

/**
 * The spool's write-ahead log of accepted messages (docs/spool.md, "The accept journal"). A
 * message whose text is whole in memory at its commit is appended here, text and envelope, and
 * the 250 waits for one {@code fsync} of the journal that the messages committed at the same
 * moment share (group commit), instead of an fsync of its own file and of two directories. Its
 * files in {@code data/} and {@code incoming/} are written as before but not fsynced: until they
 * are, the journal is what survives a crash, and start-up writes them again from it.
 *
 * <p>The journal is a series of segment files in {@code journal/}, each appended to by one writer
 * under this object's lock. A message is live in the segment its record went to until it is
 * finished ({@link #done}: a small record, not synced, so that start-up after a killed process
 * does not bring back what was delivered) or until a checkpoint has made its own files durable.
 * A segment is left for the next one after {@link #SEGMENT_BYTES} or when it is older than
 * {@link #ROTATE_AFTER_NANOS}, and deleted, oldest first, once none of its messages is live or
 * after a checkpoint. Records end with a CRC32C; reading stops at the first one that is
 * incomplete or damaged (a write cut short by the crash, never synced, so never answered 250).
 */
final class AcceptJournal {

    /** Makes the files of messages still live in a segment durable, so that it can be deleted. */
    interface Checkpoint {
        /** Throws {@link java.io.SyncFailedException} when an fsync failed, another IOException when it could not get that far. */
        void makeDurable(List<String> ids) throws IOException;
    }

    /** What a journal held at start-up: messages accepted and not finished, and ids finished. */
    record Replay(Map<String, byte[]> live, List<String> done, List<Path> segments) {}

    static final String DIRECTORY = "journal";
    static final long SEGMENT_BYTES = 16L << 20;
    /** The largest content a record holds; a message with more (an envelope of many thousand recipients) is not journaled. */
    static final int MAX_CONTENT = 16 << 20;
    static final long ROTATE_AFTER_NANOS = 1_000_000_000L;
    /** How long a left segment waits for its messages to finish before a checkpoint makes their files durable. */
    static final long CHECKPOINT_AFTER_NANOS = 2_000_000_000L;

    private static final byte ACCEPT = 'A';
    private static final byte DONE = 'D';
    private static final int HEADER = 1 + 2 + 4;
    private static final int MAX_ID = 255;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private static final byte[] NO_OCTETS = new byte[0];
    private static final String SUFFIX = ".log";
    /** Name prefix of a deleted segment's file kept for a later segment: its blocks are allocated already, so appending allocates none. */
    private static final String FREE = "free-";
    /** Deleted segments' files kept for reuse. */
    static final int FREE_SEGMENTS = 4;

    private final Path dir;
    private final Checkpoint checkpoint;
    private final Map<String, Segment> live = new ConcurrentHashMap<>();
    private final ArrayDeque<Segment> left = new ArrayDeque<>(); // guarded by this, oldest first
    private Segment current;       // guarded by this
    private long written;          // guarded by this: octets appended since start, over all segments
    private long nextSequence;     // guarded by this
    private final ArrayDeque<Path> free = new ArrayDeque<>(); // guarded by this
    private long freeCounter;      // guarded by this
    private final java.security.SecureRandom random = new java.security.SecureRandom();

    private final Object syncLock = new Object();
    private long synced;           // guarded by syncLock: every record ending at or below this is on disk
    private boolean syncing;       // guarded by syncLock
    private volatile IOException broken; // a write or fsync failed: no more records; tidy checkpoints everything
    private final Object tidyLock = new Object();
    private volatile boolean keepSegments; // a checkpoint failed: no new records of accepted mail, the segments wait for start-up

    /**
     * A segment file, {@code SEQUENCE-SALT.log}. Every record's CRC begins with the salt, a random
     * number of this segment's own, so a reused file's older records never pass for this
     * segment's. Records are written and synced through the {@link RandomAccessFile} and its
     * descriptor, which no interrupt stops (a {@code FileChannel} write or force by an interrupted
     * thread would close the channel that every commit shares).
     */
    private static final class Segment {
        final Path path;
        final long salt;
        final RandomAccessFile file;
        final long created = System.nanoTime();
        final AtomicInteger live = new AtomicInteger();
        long size;
        long leftAt;
        volatile boolean forced; // synced when it was left: a leader that finds it closed since was covered
        volatile boolean closed; // released or drained: its descriptor is gone

        Segment(Path path, long salt, RandomAccessFile file) {
            this.path = path;
            this.salt = salt;
            this.file = file;
        }

        /** fsync(2) through the descriptor: unlike a FileChannel's force, no interrupt can close the file under it. */
        void sync() throws IOException {
            syncHookForTest.run();
            file.getFD().sync();
        }

        void close() {
            closed = true;
            try {
                file.close();
            } catch (IOException ignored) {
                // read-only from here on: nothing of it is needed any more
            }
        }
    }

    private AcceptJournal(Path dir, Checkpoint checkpoint, long nextSequence) {
        this.dir = dir;
        this.checkpoint = checkpoint;
        this.nextSequence = nextSequence;
    }

    /**
     * Reads what the segments in {@code dir} hold, oldest first, without changing them. An id
     * finished after its acceptance is in {@link Replay#done}, not in {@link Replay#live}.
     */
    static Replay read(Path dir) throws IOException {
        Map<String, byte[]> live = new LinkedHashMap<>();
        List<String> done = new ArrayList<>();
        List<Path> segments = segments(dir);
        for (Path segment : segments) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(segment), 1 << 16))) {
                while (true) {
                    Record r = next(in, saltOf(segment));
                    if (r == null) {
                        break; // the end, or a record the crash cut short
                    }
                    if (r.type == ACCEPT) {
                        live.put(r.id, r.data);
                    } else {
                        live.remove(r.id);
                        done.add(r.id);
                    }
                }
            }
        }
        return new Replay(live, done, segments);
    }

    /**
     * Opens a journal in {@code dir} for appending; the segments {@link #read} found must have
     * been dealt with and deleted first ({@link #deleteSegments}).
     */
    static AcceptJournal open(Path dir, Checkpoint checkpoint) throws IOException {
        Files.createDirectories(dir);
        DurableFiles.syncDirectory(dir.getParent()); // the journal's own name, before anything in it is answered for
        long next = 0;
        for (Path p : segments(dir)) {
            next = Math.max(next, sequenceOf(p) + 1);
        }
        AcceptJournal j = new AcceptJournal(dir, checkpoint, next);
        synchronized (j) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, FREE + "*")) {
                for (Path p : ds) {
                    if (j.free.size() < FREE_SEGMENTS && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        j.free.add(p);
                    } else {
                        Files.delete(p);
                    }
                }
            }
            j.freeCounter = System.nanoTime();
            j.current = j.newSegment();
        }
        return j;
    }

    /** Deletes segments whose content is on disk elsewhere now, and makes their removal durable. */
    static void deleteSegments(Path dir, List<Path> segments) throws IOException {
        for (Path p : segments) {
            Files.deleteIfExists(p);
        }
        if (!segments.isEmpty()) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /**
     * The segments in {@code dir}, oldest first. Any other name but a free file's is refused: it
     * may hold accepted mail in a form this version does not read, and passing over it could lose that.
     */
    private static List<Path> segments(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (sequenceOf(p) >= 0) {
                    out.add(p);
                } else if (!p.getFileName().toString().startsWith(FREE)) {
                    throw new Spool.ForeignJournalFile(p + " is not a segment of the accept journal that this version of mxd can read;"
                            + " start the version that wrote it, or move the file out of " + dir + " if it is not mxd's");
                }
            }
        }
        out.sort((a, b) -> Long.compare(sequenceOf(a), sequenceOf(b)));
        return out;
    }

    /** A segment's sequence number, or -1 for a name that is not {@code SEQUENCE-SALT.log}. */
    private static long sequenceOf(Path p) {
        String name = p.getFileName().toString();
        int dash = name.indexOf('-');
        if (dash <= 0 || !name.endsWith(SUFFIX)) {
            return -1;
        }
        try {
            Long.parseUnsignedLong(name.substring(dash + 1, name.length() - SUFFIX.length()), 16);
            return Long.parseLong(name.substring(0, dash));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return -1;
        }
    }

    private static long saltOf(Path p) {
        String name = p.getFileName().toString();
        return Long.parseUnsignedLong(name.substring(name.indexOf('-') + 1, name.length() - SUFFIX.length()), 16);
    }

    private record Record(byte type, String id, byte[] data) {}

    private static Record next(DataInputStream in, long salt) throws IOException {
        try {
            byte type = in.readByte();
            int idLength = in.readUnsignedShort();
            int dataLength = in.readInt();
            if ((type != ACCEPT && type != DONE) || idLength == 0 || idLength > MAX_ID || dataLength < 0 || dataLength > MAX_CONTENT) {
                return null;
            }
            byte[] id = in.readNBytes(idLength);
            byte[] data = in.readNBytes(dataLength);
            if (id.length < idLength || data.length < dataLength) {
                return null;
            }
            int crc = in.readInt();
            CRC32C c = salted(salt);
            c.update(type);
            c.update(header(type, idLength, dataLength).array(), 1, HEADER - 1);
            c.update(id);
            c.update(data);
            if ((int) c.getValue() != crc) {
                return null;
            }
            return new Record(type, new String(id, StandardCharsets.US_ASCII), data);
        } catch (EOFException end) {
            return null;
        }
    }

    private static ByteBuffer header(byte type, int idLength, int dataLength) {
        return ByteBuffer.allocate(HEADER).put(type).putShort((short) idLength).putInt(dataLength).flip();
    }

    private static CRC32C salted(long salt) {
        CRC32C c = new CRC32C();
        salt(c, salt);
        return c;
    }

    private final CRC32C crc = new CRC32C();                          // guarded by this
    private ByteBuffer buffer = ByteBuffer.allocate(Spool.MEMORY_LIMIT); // guarded by this: the record being written

    /**
     * Writes one record to {@code s} in one write: built in a buffer the journal keeps (a typical
     * message allocates nothing here), its CRC begun with the segment's salt. Returns the position
     * after it.
     */
    private long write(Segment s, byte type, byte[] id, ByteBuffer text, byte[] trailer) throws IOException {
        int length = text.remaining() + trailer.length;
        int total = HEADER + id.length + length + 4;
        if (buffer.capacity() < total) {
            buffer = ByteBuffer.allocate(total);
        }
        ByteBuffer b = buffer.clear();
        b.put(type).putShort((short) id.length).putInt(length).put(id).put(text.duplicate()).put(trailer);
        crc.reset();
        b.putInt(0);
        byte[] r = b.array();
        salt(crc, s.salt);
        crc.update(r, 0, total - 4);
        b.putInt(total - 4, (int) crc.getValue());
        try {
            s.file.write(r, 0, total);
        } catch (IOException | RuntimeException e) {
            IOException io = e instanceof IOException i ? i : new IOException(e.toString(), e);
            fail(io);
            throw io;
        }
        if (buffer.capacity() > 4 * Spool.MEMORY_LIMIT) {
            buffer = ByteBuffer.allocate(Spool.MEMORY_LIMIT); // a very large envelope's buffer is not kept
        }
        s.size += total;
        written += total;
        return written;
    }

    private static void salt(CRC32C c, long salt) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            c.update((int) (salt >>> shift));
        }
    }

    /**
     * Whether the journal can take records: false for good after a failed write or fsync, and for as
     * long as the segments left and not yet deleted hold {@link #backlogLimit} octets or more. That
     * happens when checkpoints (one fsync a message still queued) fall behind acceptance (one fsync a
     * group): on a slow disk, with a backlog a primary's outage holds. Accepted mail then goes through
     * the files alone, each commit paying its own fsyncs, so the journal (and what start-up reads of it
     * into memory) stays bounded and acceptance slows to the pace the disk can make durable.
     */
    boolean usable() {
        return broken == null && !keepSegments && leftBytes < backlogLimit;
    }

    /**
     * The most octets the segments left and not yet deleted may hold while the journal takes records:
     * 128 MB, or an eighth of the heap when that is less (start-up holds the live records in memory).
     */
    static final long BACKLOG_LIMIT = Math.min(128L << 20, Runtime.getRuntime().maxMemory() / 8);
    private volatile long backlogLimit = BACKLOG_LIMIT;
    /** What the segments in {@link #left} hold, in octets (written under this, read without). */
    private volatile long leftBytes;

    /** For tests: a smaller {@link #BACKLOG_LIMIT}. */
    void limitBacklog(long octets) {
        backlogLimit = octets;
    }

    /** Whether a message whose file holds {@code length} octets (text, envelope, footer) fits in a record. */
    static boolean fits(long length) {
        return length <= MAX_CONTENT;
    }

    /**
     * Appends a message's text and envelope (the content of its {@code data/ID}); returns the
     * position to {@link #await} for. The message is live until {@link #done} or a checkpoint.
     */
    long accept(String id, ByteBuffer text, byte[] trailer) throws IOException {
        if (!fits((long) text.remaining() + trailer.length)) {
            throw new IllegalArgumentException(id + ": too large for a journal record");
        }
        byte[] idBytes = id.getBytes(StandardCharsets.US_ASCII);
        synchronized (this) {
            Segment s = writable();
            long end = write(s, ACCEPT, idBytes, text, trailer);
            s.live.incrementAndGet();
            live.put(id, s);
            return end;
        }
    }

    /**
     * The message {@code id} is finished or removed (or was never accepted): a record says so
     * when the journal holds it, so that start-up after a crash neither delivers it again nor
     * keeps its files. Not synced here: it reaches the disk with the next group commit, or, when
     * the process is killed, from the page cache. Returns the position to {@link #await} for
     * when the caller needs it on disk now, 0 when there is nothing to wait for.
     */
    long done(String id) {
        Segment s = live.remove(id);
        if (s == null) {
            return 0;
        }
        long end = 0;
        byte[] idBytes = id.getBytes(StandardCharsets.US_ASCII);
        try {
            synchronized (this) {
                if (broken == null) {
                    end = write(writable(), DONE, idBytes, EMPTY, NO_OCTETS);
                } else if (current != null) {
                    // Broken (a failed fsync): no more waiting for the disk, but the record is written all the same. A commit
                    // whose fsync failed was answered 452; its accepted record may be in the segment, and a start-up after a
                    // crash before tidy deletes the segments (the page cache keeps what was written) would deliver it, while
                    // its client sends it again.
                    write(current, DONE, idBytes, EMPTY, NO_OCTETS);
                }
            }
        } catch (IOException e) {
            end = 0; // the journal is broken: tidy checkpoints every live message and deletes the segments
        }
        s.live.decrementAndGet();
        return end;
    }

    private Segment writable() throws IOException {
        if (keepSegments) {
            return current; // done records only (usable() keeps accepted mail out): no new segment, nothing deleted
        }
        IOException b = broken;
        if (b != null) {
            throw new IOException("the accept journal failed earlier: " + b.getMessage(), b);
        }
        if (current.size >= SEGMENT_BYTES) {
            leave();
        }
        return current;
    }

    /** Returns once every record up to {@code position} is on disk; throws if the journal failed first. */
    void await(long position) throws IOException {
        synchronized (syncLock) {
            while (true) {
                if (synced >= position) {
                    return;
                }
                IOException b = broken;
                if (b != null) {
                    throw new IOException("the accept journal's fsync failed: " + b.getMessage(), b);
                }
                if (!syncing) {
                    syncing = true;
                    break;
                }
                try {
                    syncLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the accept journal's fsync", e);
                }
            }
        }
        // This caller syncs for everything appended so far; later records wait for the next one. A segment
        // left meanwhile was synced by leave(), and its descriptor stays open until tidy deletes it.
        Segment s;
        long target;
        synchronized (this) {
            s = current;
            target = written;
        }
        IOException error = null;
        try {
            if (s == null) {
                throw new IOException("the accept journal was closed after a failure");
            }
            syncSegment(s);
        } catch (IOException e) {
            if (s == null || !s.closed || !s.forced || broken != null) {
                error = e; // a failed fsync of a segment still in use, or of one closed without being synced first
            }
            // else: left (synced by leave()) and released while this leader synced it: its records are on disk
        } catch (RuntimeException | Error e) {
            error = new IOException("the accept journal's fsync failed: " + e, e);
        }
        if (error != null) {
            fail(error);
        }
        synchronized (syncLock) {
            syncing = false;
            if (error == null) {
                synced = Math.max(synced, target);
            }
            syncLock.notifyAll();
        }
        if (error != null && synced < position) {
            throw error;
        }
    }

    /**
     * Every fsync of a segment, one at a time, and none once one has failed. Linux reports a writeback error once per
     * open file description: of two fsyncs at once (a group commit's, and leave()'s of the same segment) the second
     * returned 0 after the first got EIO, and its group was answered 250 for records whose writeback had failed. A
     * failure is recorded before the next fsync may start, so that one cannot count either.
     */
    private void syncSegment(Segment s) throws IOException {
        synchronized (fsyncGate) {
            IOException b = broken;
            if (b != null) {
                throw new IOException("the accept journal's fsync failed earlier: " + b.getMessage(), b);
            }
            try {
                s.sync();
            } catch (IOException e) {
                if (!s.closed || !s.forced) {
                    fail(e); // not a segment left, synced and released meanwhile (that one's records are on disk)
                }
                throw e;
            }
        }
    }

    private final Object fsyncGate = new Object();

    /** Runs before every segment fsync: tests see when fsyncs overlap. A no-op in use. */
    static volatile Runnable syncHookForTest = () -> { };

    private void fail(IOException e) {
        if (broken == null) {
            broken = e;
        }
        synchronized (syncLock) {
            syncLock.notifyAll();
        }
    }

    /** The journal fails as after a write error (tests of what follows). */
    void failForTest(IOException e) {
        fail(e);
    }

    /**
     * Starts a new segment and leaves the current one, synced first (its records' waiters may be
     * past their fsync's start). When no new segment can be made, the current one goes on.
     */
    private void leave() throws IOException {
        Segment next;
        try {
            next = newSegment();
        } catch (IOException e) {
            return; // no file can be made now (no inode left?): the current segment takes the next records
        }
        Segment old = current;
        try {
            syncSegment(old);
        } catch (IOException e) {
            fail(e);
            next.close();
            Files.deleteIfExists(next.path);
            throw e;
        }
        old.forced = true;
        synchronized (syncLock) {
            synced = Math.max(synced, written);
            syncLock.notifyAll();
        }
        current = next;
        old.leftAt = System.nanoTime();
        left.addLast(old);
        leftBytes += old.size;
    }

    private Segment newSegment() throws IOException {
        long salt = random.nextLong();
        Path p = dir.resolve(String.format("%016d-%016x%s", nextSequence++, salt, SUFFIX));
        if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(p + " exists");
        }
        Path reused = free.poll();
        if (reused != null) {
            try {
                Files.move(reused, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE); // its blocks allocated already
            } catch (IOException e) {
                Files.deleteIfExists(reused);
            }
        }
        RandomAccessFile file = openForWriting(p); // from its start, over what a reused file held
        try {
            DurableFiles.syncDirectory(dir); // the segment's name, before any record in it is answered for
        } catch (IOException e) {
            file.close();
            Files.deleteIfExists(p);
            throw e;
        }
        return new Segment(p, salt, file);
    }

    /**
     * Opens a segment's file for reading and writing. The JDK's older file API says a refusal only in words after the path
     * ("(Permission denied)"): a file another user left (a run as root on the service's data directory) is said as
     * {@link java.nio.file.AccessDeniedException}, which start-up turns into what to do (chown) rather than a retry.
     */
    private static RandomAccessFile openForWriting(Path p) throws IOException {
        try {
            return new RandomAccessFile(p.toFile(), "rw");
        } catch (java.io.FileNotFoundException e) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(p)
                    || !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(p.getParent())) {
                java.nio.file.AccessDeniedException denied = new java.nio.file.AccessDeniedException(p.toString());
                denied.initCause(e);
                throw denied;
            }
            throw e;
        }
    }

    /** Deletes a segment's file, or keeps it under a free name for a later segment; the caller fsyncs the directory. */
    private void release(Segment s) throws IOException {
        s.close();
        synchronized (this) {
            if (free.size() < FREE_SEGMENTS) {
                Path kept = dir.resolve(FREE + (freeCounter++));
                try {
                    Files.move(s.path, kept, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    free.add(kept);
                    return;
                } catch (IOException e) {
                    // deleted instead
                }
            }
        }
        Files.deleteIfExists(s.path);
    }

    /**
     * A few times a second: leaves a segment that is older than {@link #ROTATE_AFTER_NANOS},
     * deletes left segments none of whose messages is live, oldest first, and makes the files of
     * messages still live in a segment left {@link #CHECKPOINT_AFTER_NANOS} ago durable
     * ({@link Checkpoint}) so that it can go too. After a failure, every segment goes that way.
     * With {@code all} (the queue manager, when it stops), every segment but a new empty one is
     * checkpointed and deleted.
     */
    void tidy(boolean all) throws IOException {
        synchronized (tidyLock) {
            if (keepSegments) {
                return;
            }
            if (broken != null) {
                drain();
                return;
            }
            long now = System.nanoTime();
            synchronized (this) {
                if (current.size > 0 && (all || now - current.created >= ROTATE_AFTER_NANOS)) {
                    leave();
                }
            }
            List<Gone> gone = new ArrayList<>();
            while (true) {
                Segment oldest;
                synchronized (this) {
                    oldest = left.peekFirst();
                    if (oldest == null) {
                        break;
                    }
                }
                List<String> still = List.of();
                if (oldest.live.get() > 0) {
                    if (!all && now - oldest.leftAt < CHECKPOINT_AFTER_NANOS) {
                        break;
                    }
                    still = liveIn(oldest); // no message joins a segment once it is left: all it will ever hold
                    makeDurable(still);
                }
                synchronized (this) {
                    if (left.remove(oldest)) {
                        leftBytes -= oldest.size;
                    }
                }
                release(oldest);
                gone.add(new Gone(oldest, still));
            }
            if (!gone.isEmpty()) {
                // Deleted for good before their ids are let go: a segment back after a power failure without the
                // later one holding its messages' done records would deliver them again.
                DurableFiles.syncDirectory(dir);
                for (Gone g : gone) {
                    for (String id : g.checkpointed()) {
                        if (live.remove(id, g.segment())) {
                            g.segment().live.decrementAndGet();
                        }
                    }
                }
            }
        }
    }

    /** A segment tidy deleted, and the messages it held still live when they were checkpointed. */
    private record Gone(Segment segment, List<String> checkpointed) {}

    /**
     * The messages still live in a segment that was left: no more can join it. Found in the map of
     * live messages rather than kept in a list of the segment's own, which would keep every
     * message's id until its segment goes, a few seconds, long enough for the collector to promote
     * it to the old generation, where it stays until a full collection.
     */
    private List<String> liveIn(Segment s) {
        List<String> ids = new ArrayList<>();
        live.forEach((id, in) -> {
            if (in == s) {
                ids.add(id);
            }
        });
        return ids;
    }

    /**
     * After a failure: every live message's files made durable, every segment deleted; the journal is not used again.
     * A checkpoint cut short by a failure that is no failed fsync (no descriptor left, an interrupt) leaves the
     * segments where they are, the finishes meanwhile writing their done records into them, and the next tidy tries
     * again; a failed fsync keeps them for start-up ({@link #makeDurable}).
     */
    private void drain() throws IOException {
        List<Segment> all;
        synchronized (this) {
            all = new ArrayList<>(left);
            if (current != null) {
                all.add(current);
            }
        }
        if (all.isEmpty()) {
            return;
        }
        makeDurable(new ArrayList<>(live.keySet())); // no message joins the journal once it is broken: these are all
        synchronized (this) {
            left.clear();
            leftBytes = 0;
            current = null;
        }
        for (Segment s : all) {
            s.close();
            Files.deleteIfExists(s.path);
        }
        DurableFiles.syncDirectory(dir);
        live.clear();
    }

    /**
     * A checkpoint. Cut short by an interrupt (the sweeper's, when the server stops), or by a
     * failure that is no failed fsync ({@link Checkpoint} throws {@link java.io.SyncFailedException}
     * for those: a file it could not open for want of descriptors, say), it is simply not done: the
     * segments stay and the next tidy or start-up deals with them. A failed fsync (it may have lost
     * the very pages it had to write), or a fault, keeps every segment for start-up and takes no
     * more accepted mail into the journal; finishes still write their records, so start-up does not
     * bring those messages back.
     */
    private void makeDurable(List<String> ids) throws IOException {
        try {
            checkpoint.makeDurable(ids);
        } catch (java.io.SyncFailedException | RuntimeException e) {
            keepSegments = true;
            throw e;
        }
    }

    /**
     * Closes the segments' descriptors, deleting nothing (the spool is closed after the queue manager's last
     * checkpoint; what a segment still holds is for the next start). Nothing may be written after this.
     */
    synchronized void close() {
        left.forEach(Segment::close);
        if (current != null) {
            current.close();
        }
    }

    /** Messages the journal holds now (tests). */
    int liveCount() {
        return live.size();
    }
}
