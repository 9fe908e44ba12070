package dev.mxd.queue;

import dev.mxd.smtp.HeaderFieldRemover;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.Replies;
import dev.mxd.mail.HeaderFields;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Transaction;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable spool (docs/spool.md). A message is its text in {@code data/ID}, written once,
 * and its envelope in {@code STATE/ID.json}, where STATE is incoming, active, deferred or hold.
 * At acceptance the envelope is written after the text in the same file and
 * {@code incoming/ID.json} is a hard link to it (see {@link EnvelopeFile}); the link's
 * appearance is the moment of acceptance, and everything before it is undone at start-up.
 * Per-recipient state is persisted by rewriting {@code STATE/ID.json} as a small JSON file,
 * never the text.
 *
 * <p>Text arrives through {@link #begin}: in memory up to {@link #MEMORY_LIMIT} octets, then
 * straight into {@code data/ID} as the client sends it, so memory per connection is bounded
 * whatever the message size. Files are written in the directory where they stay and renamed
 * only within it ({@code ID.json.new} to {@code ID.json}): Linux serialises renames between
 * directories file-system wide.
 */
public final class Spool implements MessageStore {

    /**
     * A file in the accept journal's directory that is no segment this version reads: the operator's to deal with, which no
     * restart mends (a start refuses it as a setting, exit 78, so that systemd does not restart it every few seconds).
     */
    public static final class ForeignJournalFile extends IOException {
        ForeignJournalFile(String message) {
            super(message);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);

    /** Octets of message text kept in memory before it goes to its file in {@code data/}. */
    public static final int MEMORY_LIMIT = 64 * 1024;
    /** Finished messages' text files kept for the next texts (docs/spool.md, "Spare text files"). */
    static final int SPARES = 1000;

    /**
     * How long a spare may keep a finished text before {@link #tidy} empties it (docs/spool.md,
     * "Spare text files"); under load a later text is written over it well before.
     */
    static final Duration SPARE_HOLD = Duration.ofSeconds(2);

    /** How far ahead an attached spool dates what it commits, until its caller moves it to deferred/. */
    static final Duration ATTACHED_NOT_BEFORE = Duration.ofMinutes(1);

    private final Path root;
    private final Path tmp;
    private final Path data;
    private final String hostname;
    private final Clock clock;
    private final QueueIds ids = new QueueIds();
    private final SpareFiles spares;
    // Group commit: concurrent messages share one fsync of each directory they renamed into.
    private final GroupSync acceptSync;
    private final Map<QueueState, GroupSync> stateSync = new EnumMap<>(QueueState.class);
    private final List<Consumer<Accepted>> listeners = new CopyOnWriteArrayList<>();
    /** Another process's handle on a running server's spool ({@link #attach}). */
    private final boolean attached;

    /**
     * The accept journal (docs/spool.md): the messages whose text is in memory at commit are made
     * durable by its shared fsync; null for an attached spool, which must not write the server's.
     */
    private AcceptJournal journal;

    /** Ids whose envelope is linked into incoming/ but whose commit has not ended (its fsync, its listeners). */
    private final Set<String> committing = ConcurrentHashMap.newKeySet();
    private volatile Optional<StoreFailure> lastFailure = Optional.empty();

    private Spool(Path root, String hostname, Clock clock, boolean attached) {
        this.root = root;
        this.attached = attached;
        this.tmp = root.resolve("tmp");
        this.data = root.resolve("data");
        this.hostname = hostname;
        this.clock = clock;
        this.spares = new SpareFiles(data, SPARES, MEMORY_LIMIT, SPARE_HOLD);
        // The fsync of data/ also makes the spares' renames durable: only then are they handed out.
        this.acceptSync = new GroupSync(spares, data, root.resolve(QueueState.INCOMING.directory()));
        for (QueueState q : STATES) {
            stateSync.put(q, new GroupSync(root.resolve(q.directory())));
        }
    }

    /**
     * Opens (creating) the spool under {@code root} and recovers it: unfinished writes are
     * removed, messages that were being delivered go back to incoming, text without an
     * envelope (a crash before acceptance) is deleted.
     */
    public static Spool open(Path root, String hostname, Clock clock) throws IOException {
        return open(root, hostname, clock, true);
    }

    /**
     * {@link #open}; without {@code journaled}, every commit fsyncs its own file and the shared
     * directories, as an attached spool does (tests of the files' own recovery use this).
     */
    static Spool open(Path root, String hostname, Clock clock, boolean journaled) throws IOException {
        Spool s = new Spool(root, hostname, clock, false);
        // Private whatever the umask (0022 outside systemd made every queued message world-readable), as Postfix's
        // queue directories are; only the spool root this creates: the data directory above it may be the Maildirs' way in.
        Files.createDirectories(root.toAbsolutePath().getParent());
        Files.createDirectories(root, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> mode = Files.getPosixFilePermissions(root);
            if (mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)
                    || mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                LOG.warn("spool {} is open to other users ({}): queued mail may be readable by them; chmod 700 {}", root,
                        java.nio.file.attribute.PosixFilePermissions.toString(mode), root);
            }
        } catch (UnsupportedOperationException notPosix) {
            // nothing to check
        }
        Files.createDirectories(s.tmp);
        Files.createDirectories(s.data);
        for (QueueState q : STATES) {
            Files.createDirectories(root.resolve(q.directory()));
        }
        s.replayJournal();
        s.recover();
        if (journaled) {
            s.journal = AcceptJournal.open(root.resolve(AcceptJournal.DIRECTORY), s::makeDurable);
        }
        return s;
    }

    /**
     * The spool of a server that may be running, for another process that only adds messages
     * ({@code mxd quarantine release}): never recovers, since recovery would delete the running
     * server's messages in progress. Hand what it adds to the server through {@link #defer}: the
     * server's queue manager takes due mail from {@code deferred/}, and from {@code incoming/} only
     * what has waited there a while. A message this spool commits is dated {@link #ATTACHED_NOT_BEFORE}
     * ahead until then, so the server does not take it while its commit may still fail.
     */
    public static Spool attach(Path root, String hostname, Clock clock) throws IOException {
        Spool s = new Spool(root, hostname, clock, true);
        if (!Files.isDirectory(s.data) || !Files.isDirectory(root.resolve(QueueState.DEFERRED.directory()))) {
            return open(root, hostname, clock); // no spool yet: nothing to disturb
        }
        return s;
    }

    private static final QueueState[] STATES = QueueState.values(); // values() copies its array at every call

    /** Suffix of an envelope being written beside the one it becomes (same directory, so its rename is cheap). */
    private static final String NEW = ".new";

    /**
     * Puts back on disk what the accept journal says was accepted and not finished, before the
     * rest of start-up looks at the files (docs/spool.md, "The accept journal"): each such text is
     * written again from its record (a new file renamed over {@code data/ID}, whatever the crash left
     * there; fsynced where it is only when there is no room for the copy and it holds exactly the
     * record), and an envelope of its own rewritten since its acceptance is kept, else
     * {@code incoming/ID.json} is linked to the text again. A finished message's files are removed:
     * the removal may not have reached the disk. Then the segments are deleted.
     */
    private void replayJournal() throws IOException {
        Path dir = root.resolve(AcceptJournal.DIRECTORY);
        AcceptJournal.Replay r = AcceptJournal.read(dir);
        if (r.segments().isEmpty()) {
            return;
        }
        for (String id : r.done()) {
            if (!plainId(id)) {
                continue;
            }
            for (QueueState q : STATES) {
                Files.deleteIfExists(envelopePath(q, id));
            }
            Files.deleteIfExists(data.resolve(id));
        }
        for (Map.Entry<String, byte[]> e : r.live().entrySet()) {
            String id = e.getKey();
            if (!plainId(id)) {
                continue;
            }
            Path text = data.resolve(id);
            Object key = fileKey(text);
            // Its envelope: rewritten since acceptance (a file of its own, preferred), or the one it was accepted
            // with, linked to the text, in whatever state it was moved to since. A second one is a rename's leftover.
            QueueState kept = null;
            boolean linked = false;
            for (QueueState q : STATES) {
                Path envelope = envelopePath(q, id);
                Object k = fileKey(envelope);
                if (k == null) {
                    continue;
                }
                boolean asAccepted = k.equals(key) || !rewritten(envelope, id);
                if (kept == null || (linked && !asAccepted)) {
                    kept = q;
                    linked = asAccepted;
                }
            }
            for (QueueState q : STATES) {
                if (q != kept) {
                    Files.deleteIfExists(envelopePath(q, id));
                }
            }
            Path tmpText = data.resolve(id + ".journal");
            Files.deleteIfExists(tmpText);
            // Written again from the record: what the file holds may be pages a failed fsync left in the cache, marked
            // clean, that never reach the disk, however whole they read now. Only when there is no room for the copy (a
            // kill on a full disk, the usual state after a crash under load) is a text that holds exactly the record
            // fsynced where it is, so that mxd can start and drain the queue that would free the space.
            boolean intact = false;
            try {
                DurableFiles.replace(tmpText, text, e.getValue());
            } catch (IOException noRoom) {
                Files.deleteIfExists(tmpText);
                if (!DurableFiles.systemSays(noRoom, "No space left on device") || !sameContent(text, e.getValue())) {
                    throw noRoom;
                }
                try (FileChannel ch = FileChannel.open(text, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                intact = true;
                LOG.warn("spool {}: no room to write {} again from the accept journal; its text, whole, is fsynced where it is",
                        root, id);
            }
            if (kept == null) {
                Files.createLink(envelopePath(QueueState.INCOMING, id), text);
            } else if (linked && !(intact && key != null && key.equals(fileKey(envelopePath(kept, id))))) {
                // Linked to the text as it was: now to the text as written again, with its time (a deferred one's next attempt).
                // Linked under a new name and renamed over the old one: a crash in between leaves it where it was.
                Path envelope = envelopePath(kept, id);
                Path linking = envelope.resolveSibling(envelope.getFileName() + NEW);
                FileTime time = Files.getLastModifiedTime(envelope);
                Files.deleteIfExists(linking);
                Files.createLink(linking, text);
                Files.move(linking, envelope, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                Files.setLastModifiedTime(envelope, time);
                try (FileChannel ch = FileChannel.open(text, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.force(true); // its time
                }
            }
        }
        syncDataAndStates();
        LOG.info("spool {}: accept journal replayed: {} message(s) written again, {} finished", root, r.live().size(), r.done().size());
        AcceptJournal.deleteSegments(dir, r.segments());
    }

    /** Whether {@code file} holds exactly {@code content} (read only when its size says it may). */
    private static boolean sameContent(Path file, byte[] content) throws IOException {
        try {
            return Files.size(file) == content.length && java.util.Arrays.equals(Files.readAllBytes(file), content);
        } catch (NoSuchFileException gone) {
            return false;
        }
    }

    /**
     * Whether an envelope file is one rewritten since acceptance (fsynced when it was written): JSON
     * alone, readable, of this message. Anything else (the text it was accepted with, or blocks a
     * power failure left in an inode that was never fsynced) is not.
     */
    private static boolean rewritten(Path envelope, String id) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(envelope)) {
            if (in.read() != '{') {
                return false;
            }
        }
        try {
            return EnvelopeJson.read(Files.readAllBytes(envelope)).id().equals(id);
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
    }

    /** A name made of ASCII letters and digits, as every queue id is: never a path of its own. */
    private static boolean plainId(String id) {
        return !id.isEmpty() && id.chars().allMatch(c -> c < 0x80 && Character.isLetterOrDigit(c));
    }

    private static Object fileKey(Path p) throws IOException {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
        } catch (NoSuchFileException gone) {
            return null;
        }
    }

    /** Fsyncs {@code data/} and every state directory: every name in them is on disk. */
    private void syncDataAndStates() throws IOException {
        for (Path dir : dataAndStates()) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** {@code data/} and every state directory, the directories a checkpoint or a recovery makes durable. */
    private List<Path> dataAndStates() {
        List<Path> dirs = new ArrayList<>(STATES.length + 1);
        dirs.add(data);
        for (QueueState q : STATES) {
            dirs.add(root.resolve(q.directory()));
        }
        return dirs;
    }

    /**
     * The accept journal's checkpoint: the texts of {@code ids} (and so the envelopes linked to
     * them) and every state directory are fsynced, after which the journal need not hold them.
     */
    private void makeDurable(List<String> ids) throws IOException {
        for (String id : ids) {
            try (FileChannel ch = FileChannel.open(data.resolve(id), java.nio.file.StandardOpenOption.READ)) {
                checkpointSync(ch, data.resolve(id));
            } catch (NoSuchFileException finished) {
                // finished meanwhile: nothing to keep
            }
        }
        for (Path dir : dataAndStates()) {
            try (FileChannel ch = FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
                checkpointSync(ch, dir);
            }
        }
    }

    /**
     * The checkpoint's fsync: its failure is told apart ({@link java.io.SyncFailedException}) from one to open the file (no
     * descriptor left, say), after which the journal keeps working and the next checkpoint tries again.
     */
    static void checkpointSync(FileChannel ch, Path what) throws IOException {
        try {
            ch.force(true);
        } catch (java.nio.channels.ClosedChannelException interrupted) {
            throw interrupted; // an interrupt closed it: the checkpoint is simply not done
        } catch (IOException e) {
            java.io.SyncFailedException failed = new java.io.SyncFailedException("fsync of " + what + " failed: " + e.getMessage());
            failed.initCause(e);
            throw failed;
        }
    }

    /**
     * One listing of each directory and no {@code stat} per message, so a spool of a million
     * messages opens in seconds: envelopes are collected by id, then matched with the texts.
     */
    private void recover() throws IOException {
        // Alone: a process attached beside (mxd quarantine release) commits under a shared hold of the same lock, so a
        // start never lists the envelopes before its commit and meets its text after (and deletes it as never acknowledged).
        AttachLock held = AttachLock.of(root);
        held.recovering(root);
        try (FileChannel lockFile = AttachLock.open(root)) {
            java.nio.channels.FileLock alone = lockFile.tryLock();
            if (alone == null) {
                LOG.warn("spool {}: recovery waits for a process working beside the server (mxd quarantine release) to"
                        + " finish its commit", root);
                alone = lockFile.lock();
            }
            try {
                recoverAlone();
            } finally {
                alone.release();
            }
        } finally {
            held.recovered();
        }
    }

    /** The lock file of {@link #recover} and {@link #holdAgainstRecovery}, in the spool's root. */
    static final String ATTACH_LOCK = "attach.lock";

    /**
     * The attach lock of one spool: the file's POSIX lock between processes, and within this one a count of holders,
     * since the JVM refuses a second lock of a file it already locks (OverlappingFileLockException), shared or not. The
     * first holder here takes the file's shared lock, the last lets it go; a recovery here waits until none is left,
     * and holders wait for a recovery. Not tied to threads: a hold may be let go by another thread than took it. Keyed
     * by the lock file's identity (its inode), as the JVM's own check is, so two paths to one spool are one lock.
     */
    private static final class AttachLock {
        private static final Map<Object, AttachLock> BY_FILE = new ConcurrentHashMap<>();

        private int sharing;                            // guarded by this
        private boolean recovering;                     // guarded by this
        private FileChannel file;                       // guarded by this
        private java.nio.channels.FileLock shared;      // guarded by this

        static AttachLock of(Path root) throws IOException {
            try (FileChannel made = open(root)) { // the file exists from here on: its identity is the key
                Object key = Files.readAttributes(root.resolve(ATTACH_LOCK), java.nio.file.attribute.BasicFileAttributes.class).fileKey();
                return BY_FILE.computeIfAbsent(key == null ? root.resolve(ATTACH_LOCK).toRealPath() : key, k -> new AttachLock());
            }
        }

        static FileChannel open(Path root) throws IOException {
            return FileChannel.open(root.resolve(ATTACH_LOCK), java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
        }

        synchronized void recovering(Path root) throws java.io.InterruptedIOException {
            if (sharing > 0 || recovering) {
                LOG.warn("spool {}: recovery waits for a quarantine release in this process to finish its commit", root);
            }
            while (sharing > 0 || recovering) {
                await();
            }
            recovering = true;
        }

        synchronized void recovered() {
            recovering = false;
            notifyAll();
        }

        synchronized void share(Path root) throws IOException {
            while (recovering) {
                await();
            }
            if (sharing == 0) {
                FileChannel f = open(root);
                try {
                    shared = f.lock(0, Long.MAX_VALUE, true);
                } catch (IOException | RuntimeException e) {
                    f.close();
                    throw e;
                }
                file = f;
            }
            sharing++;
        }

        synchronized void unshare() throws IOException {
            if (--sharing == 0) {
                notifyAll();
                try {
                    shared.release();
                } finally {
                    file.close();
                    file = null;
                    shared = null;
                }
            }
        }

        private void await() throws java.io.InterruptedIOException {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for the spool's attach lock");
            }
        }
    }

    /**
     * For a process attached beside a server ({@link #attach}): until closed, a start of the server waits before its
     * recovery, which would take a message half committed here (its text written, its envelope not yet linked, or moved
     * between two state directories) for one never acknowledged and delete it. Hold it around each commit and hand-over.
     * Closing it again does nothing.
     */
    public java.io.Closeable holdAgainstRecovery() throws IOException {
        AttachLock held = AttachLock.of(root);
        held.share(root);
        java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean(true);
        return () -> {
            if (open.compareAndSet(true, false)) {
                held.unshare();
            }
        };
    }

    private void recoverAlone() throws IOException {
        for (Path f : list(tmp)) {
            Files.deleteIfExists(f); // spools written by earlier versions kept unfinished files here
        }
        Map<String, QueueState> envelopes = new HashMap<>();
        for (QueueState q : STATES) {
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(root.resolve(q.directory()))) {
                for (Path f : dir) {
                    String name = f.getFileName().toString();
                    if (name.endsWith(".json")) {
                        envelopes.put(name.substring(0, name.length() - ".json".length()), q);
                    } else if (name.endsWith(NEW)) {
                        Files.deleteIfExists(f); // an envelope write that never finished
                    }
                }
            }
        }
        int count = 0;
        boolean reactivated = false;
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(data)) {
            for (Path f : dir) {
                String id = f.getFileName().toString();
                if (SpareFiles.isSpare(id)) {
                    if (!spares.adopt(f)) {
                        Files.deleteIfExists(f); // more than are kept, not a regular file with one link, or not our name
                    }
                    continue;
                }
                if (id.indexOf('.') >= 0) {
                    Files.deleteIfExists(f); // a filter's rewrite of a text that never finished
                    continue;
                }
                QueueState state = envelopes.remove(id);
                if (state == null) {
                    LOG.info("spool: removing {} (never acknowledged: no envelope)", id);
                    Files.deleteIfExists(f);
                    continue;
                }
                if (state == QueueState.ACTIVE) {
                    // Its time may be a next attempt set just before a crash (defer sets it, then moves): due now, as the
                    // rest of incoming/ is, not at that time.
                    Path activeEnvelope = envelopePath(QueueState.ACTIVE, id);
                    if (Files.getLastModifiedTime(activeEnvelope).toInstant().isAfter(clock.instant())) {
                        Files.setLastModifiedTime(activeEnvelope, FileTime.from(clock.instant().minus(QueueManager.INCOMING_GRACE)));
                    }
                    DurableFiles.rename(envelopePath(QueueState.ACTIVE, id), envelopePath(QueueState.INCOMING, id));
                    reactivated = true;
                }
                count++;
            }
        }
        if (reactivated) {
            DurableFiles.syncDirectory(root.resolve(QueueState.INCOMING.directory())); // one fsync for all moved back
        }
        for (Map.Entry<String, QueueState> e : envelopes.entrySet()) {
            // A crash during the shared fsync of data/ and incoming/: this message had no 250 yet. (Elsewhere,
            // a removal whose text went first: its recipients were all done.)
            LOG.info("spool: removing {} from {} (envelope without text)", e.getKey(), e.getValue().directory());
            Files.deleteIfExists(envelopePath(e.getValue(), e.getKey()));
        }
        LOG.info("spool {}: {} message(s) recovered", root, count);
    }

    /**
     * A message the spool could not store (answered 452 4.3.1).
     *
     * @param noSpace the file system said it is full: no space or no inode left (ENOSPC), or a quota (EDQUOT)
     */
    public record StoreFailure(Instant at, String error, boolean noSpace) {}

    /** The failure of the last message stored, when it failed; empty once a message is stored again (/health reads it). */
    public Optional<StoreFailure> lastStoreFailure() {
        return lastFailure;
    }

    /** ENOSPC or EDQUOT anywhere in the chain: the JDK reports both only by the system's message text. */
    static boolean noSpace(Throwable e) {
        return DurableFiles.systemSays(e, "No space left on device") || DurableFiles.systemSays(e, "Disk quota exceeded");
    }

    /** Called with the queue id of every message accepted from now on (metrics listen). */
    public void onAccepted(Consumer<String> listener) {
        listeners.add(a -> listener.accept(a.id()));
    }

    /**
     * A message just accepted, with the envelope exactly as it was written after its text: the
     * queue manager takes it from here instead of reading back the file it was written to a
     * moment before. The bytes are parsed by {@link #envelope()} the same way as those read from
     * disk, so the envelope is the one on disk, field for field.
     */
    record Accepted(String id, byte[] envelopeJson) {
        /** The envelope, parsed from the bytes written to disk. */
        Envelope envelope() throws IOException {
            return EnvelopeJson.read(envelopeJson);
        }
    }

    /** Called with every message accepted from now on and its envelope as written (the delivery loop listens). */
    void onAcceptedEnvelope(Consumer<Accepted> listener) {
        listeners.add(listener);
    }

    /** The spool's file system, found once (finding it reads the mount table; its free space is one statvfs). */
    private volatile java.nio.file.FileStore fileStore;

    /** The usable space of the spool's file system, or {@link Long#MAX_VALUE} when it cannot be read. */
    @Override
    public long freeSpace() {
        try {
            java.nio.file.FileStore fs = fileStore;
            if (fs == null) {
                fs = Files.getFileStore(root);
                fileStore = fs;
            }
            return fs.getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE; // the store itself says what is wrong when a message is written
        }
    }

    /**
     * Starts a message at DATA: allocates its queue id and writes the Received header first, as
     * Postfix's smtpd does when DATA is accepted (so the header's time is the start of DATA).
     * Nothing here blocks on the disk; text larger than {@link #MEMORY_LIMIT} is written to
     * {@code data/ID} as it arrives.
     */
    @Override
    public IncomingMessage begin(Transaction t) {
        Instant now = clock.instant();
        String id = ids.next(now.toEpochMilli());
        for (int tries = 0; tries < 100 && Files.exists(data.resolve(id)); tries++) { // every queued message has its data/ID
            id = ids.next(now.toEpochMilli()); // taken (a clock set back across a restart): the next one, checked again
        }
        Draft d = new Draft(id, t, new IncomingText(data.resolve(id), MEMORY_LIMIT, spares));
        d.trace(receivedHeader(t, id, now));
        return d;
    }

    /** Stores a message held whole in memory (tests) the same way as one received by SMTP. */
    public StoreOutcome store(ReceivedMessage m) {
        return store(m, Envelope.Kind.MAIL);
    }

    /** Stores a message held whole in memory, such as a notice mxd makes, marked in its envelope as {@code kind}. */
    public StoreOutcome store(ReceivedMessage m, Envelope.Kind kind) {
        Draft d = (Draft) begin(m.transaction());
        d.write(m.content(), 0, m.content().length);
        return d.commit(m.arrival(), Optional.empty(), kind);
    }

    /**
     * The start of the client's text, held until it is clear whether its first line is a header
     * field. When it is not (a message of body text only: "Hello\r\n", or a line that starts with
     * white space and would fold into mxd's Received field), an empty line goes before it, so that
     * the Received field ends a header section of its own and the text stays body, as Postfix's
     * cleanup writes it. A field is a name of printable ASCII and a colon (white space before the
     * colon allowed, RFC 5322 §4.5); an empty first line is an empty header section already.
     * A first line that starts with "From " after any number of "&gt;" is a Unix mailbox's separator
     * (a script that pipes an mbox file to SMTP): it becomes an {@code X-Mailbox-Line:} field, as
     * Postfix's smtpd writes it, and the line after it is judged as the first again, so the
     * client's header section stays one; an empty line before it would have made all of it body.
     */
    static final class FirstLine {
        private static final int LIMIT = 998; // RFC 5322 §2.1.1: no field name is longer than a line
        private byte[] held = new byte[32]; // grown as needed: a field's name is decided in a few octets
        private int length;
        private int state;  // 0 reading the name, 1 white space after it, 2 a field, 3 not a field, 4 a mailbox line
        private boolean atStart = true;
        private static final byte[] MAILBOX_LINE = "X-Mailbox-Line: ".getBytes(StandardCharsets.US_ASCII);

        /** Takes octets until it can decide; returns how many it took. */
        int take(byte[] b, int off, int len) {
            int n = 0;
            while (n < len && state < 2) {
                int c = b[off + n] & 0xff;
                if (length == held.length) {
                    held = java.util.Arrays.copyOf(held, Math.min(2 * length, LIMIT + 1));
                }
                held[length++] = (byte) c;
                n++;
                if (atStart && (c == '\r' || c == '\n')) {
                    state = 2;             // an empty first line: the header section is empty
                } else if (c == ':') {
                    state = atStart ? 3 : 2;
                } else if (c == ' ' && mailboxSeparator()) {
                    state = 4;
                } else if (c == ' ' || c == '\t') {
                    state = atStart ? 3 : 1;
                } else if (state == 1 || c < 33 || c > 126) {
                    state = 3;
                }
                if (state < 2 && length > LIMIT) {
                    state = 3; // no field name is this long, white space after a name included (held is full)
                }
                atStart = false;
            }
            return n;
        }

        /** What is held, the space just taken included, is "From " after any number of "&gt;" (and nothing else). */
        private boolean mailboxSeparator() {
            int i = 0;
            while (i < length && held[i] == '>') {
                i++;
            }
            return length - i == 5 && held[i] == 'F' && held[i + 1] == 'r' && held[i + 2] == 'o' && held[i + 3] == 'm';
        }

        boolean decided() {
            return state >= 2;
        }

        /** The first line is a mailbox separator: the rest of it is the field's value, and the line after it is judged anew. */
        boolean mailboxLine() {
            return state == 4;
        }

        /** The text ended before a decision: what was held is not a field (no colon). */
        void end() {
            if (length > 0 && state < 2) {
                state = 3;
            }
        }

        void flush(HeaderFieldRemover.Sink text) throws IOException {
            if (state == 3) {
                text.write(new byte[] {'\r', '\n'}, 0, 2);
            } else if (state == 4) {
                text.write(MAILBOX_LINE, 0, MAILBOX_LINE.length);
            }
            text.write(held, 0, length);
        }
    }

    /** A message being received: its text, then (at commit) the envelope whose rename accepts it. */
    private final class Draft implements IncomingMessage {

        private final String id;
        private final Transaction transaction;
        private final IncomingText text;
        private boolean ended;
        private FirstLine firstLine = new FirstLine();
        /** The rest of a mailbox separator (see {@link FirstLine}) is passing: the line after it is judged as the first. */
        private boolean inMailboxLine;
        /**
         * The client's header section goes through it: Bcc, Resent-Bcc, Content-Length and Return-Path are left out, as
         * Postfix's cleanup leaves them out ({@link HeaderFieldRemover#DROPPED_AT_ACCEPTANCE}); the body goes straight to the
         * text.
         */
        private final HeaderFieldRemover header;
        /** An octet above 127 came in the client's text (BODY=8BITMIME declared or not). */
        private boolean eightBit;
        /** {@link #commitBy}'s deadline, when one was set. */
        private volatile long deadline;
        private volatile boolean hasDeadline;

        Draft(String id, Transaction transaction, IncomingText text) {
            this.id = id;
            this.transaction = transaction;
            this.text = text;
            this.header = new HeaderFieldRemover(text::write, HeaderFieldRemover.DROPPED_AT_ACCEPTANCE);
        }

        /** mxd's own trace field, before the client's text. */
        void trace(byte[] received) {
            text.write(received, 0, received.length);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if (!eightBit) {
                for (int i = off, end = off + len; i < end; i++) {
                    if (b[i] < 0) {
                        eightBit = true;
                        break;
                    }
                }
            }
            try {
                take(b, off, len);
            } catch (IOException never) {
                throw new java.io.UncheckedIOException(never); // IncomingText keeps its own failure, for the commit
            }
        }

        private void take(byte[] b, int off, int len) throws IOException {
            while (firstLine != null && len > 0) {
                if (inMailboxLine) {
                    int n = 0;
                    while (n < len && b[off + n] != '\n') {
                        n++;
                    }
                    boolean ended = n < len;
                    n += ended ? 1 : 0;
                    header.write(b, off, n);
                    off += n;
                    len -= n;
                    if (ended) {
                        inMailboxLine = false;
                        firstLine = new FirstLine();
                    }
                    continue;
                }
                int used = firstLine.take(b, off, len);
                off += used;
                len -= used;
                if (firstLine.decided()) {
                    firstLine.flush(header::write);
                    if (firstLine.mailboxLine()) {
                        inMailboxLine = true;
                    } else {
                        firstLine = null;
                    }
                }
            }
            if (len > 0) {
                if (header.inBody()) {
                    text.write(b, off, len);
                } else {
                    header.write(b, off, len);
                }
            }
        }

        /** The client's text so far is all written: a first line, or a header line's start, still being read is decided now. */
        private void endFirstLine() {
            try {
                if (firstLine != null) {
                    if (!inMailboxLine) {
                        firstLine.end();
                        firstLine.flush(header::write);
                    }
                    firstLine = null;
                }
                header.finish();
            } catch (IOException never) {
                throw new java.io.UncheckedIOException(never);
            }
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public synchronized ReceivedText text() throws IOException {
            endFirstLine();
            return text.received();
        }

        @Override
        public StoreOutcome commit() {
            return commit(clock.instant(), Optional.empty(), Envelope.Kind.MAIL);
        }

        @Override
        public void commitBy(long deadline) {
            this.deadline = deadline;
            hasDeadline = true;
        }

        @Override
        public StoreOutcome commit(TextRewrite rewrite) {
            return commit(clock.instant(), Optional.of(rewrite), Envelope.Kind.MAIL);
        }

        /**
         * The durability contract of docs/spool.md; 452 4.3.1 and nothing left behind on failure.
         * The text, followed by its first envelope, is written to {@code data/ID} and fsynced by
         * this thread; {@code incoming/ID.json} is made a hard link to it (one inode per message:
         * creating inodes is what a busy spool's file system spends most of its time on). The
         * fsyncs of {@code data/} and {@code incoming/} are shared with the messages committed at
         * the same time (group commit). Only then is the message accepted. A text the filter
         * rewrites (tags) is rewritten first, so the envelope has its size.
         */
        synchronized StoreOutcome commit(Instant arrival, Optional<TextRewrite> rewrite, Envelope.Kind kind) {
            if (ended) {
                throw new IllegalStateException(id + ": already committed or discarded");
            }
            ended = true;
            if (hasDeadline && MessageStore.IncomingMessage.past(deadline)) {
                text.discard();
                LOG.warn("{}: not stored: its commit began later than timeouts.final-reply after the final dot"
                        + " (store threads busy, a slow filter); answered 451 4.4.5, the client sends it again", id);
                return new StoreOutcome.Failed(Replies.STORED_TOO_LATE);
            }
            endFirstLine();
            Path target = data.resolve(id);
            Path envelope = envelopePath(QueueState.INCOMING, id);
            byte[] json;
            boolean journaled = false;
            boolean linked = false;
            Optional<String> messageId = Optional.empty();
            try {
                if (rewrite.isPresent()) {
                    text.rewrite(rewrite.get());
                }
                List<RecipientStatus> rs = new ArrayList<>();
                for (Recipient r : transaction.recipients()) {
                    rs.add(new RecipientStatus(r, DeliveryState.PENDING, "", arrival));
                }
                MailParameters p = transaction.parameters();
                if (eightBit && p.body() == MailParameters.Body.SEVEN_BIT) {
                    // 8-bit text sent without BODY=8BITMIME (common, and taken as Postfix takes it): recorded as 8-bit,
                    // so that it goes on with BODY=8BITMIME, or converted to 7 bit for a server without 8BITMIME (RFC 6152 §3)
                    p = p.withBody(MailParameters.Body.EIGHT_BIT_MIME);
                }
                Envelope e = new Envelope(id, transaction.sender(), p, rs, transaction.client(), arrival, text.size(), kind);
                json = EnvelopeJson.write(e);
                byte[] trailer = EnvelopeFile.trailer(json);
                AcceptJournal j = journal;
                java.nio.ByteBuffer whole = j != null && j.usable() ? text.whole() : null;
                if (whole != null && !AcceptJournal.fits((long) whole.remaining() + trailer.length)) {
                    whole = null; // an envelope of many thousand recipients: through the files alone
                }
                if (LOG.isInfoEnabled()) {
                    messageId = messageIdOf(text); // read before persist, which lets the text's memory go
                }
                text.persist(trailer, whole == null); // a journaled text is fsynced with the journal's records
                if (attached) {
                    // the running server's scan of incoming/ does not know of this commit: the file's time tells it to wait
                    Files.setLastModifiedTime(target, FileTime.from(clock.instant().plus(ATTACHED_NOT_BEFORE)));
                }
                committing.add(id); // before the link: no scan of incoming/ takes it until the commit has ended
                Files.createLink(envelope, target);
                linked = true;
                if (whole != null) {
                    journaled = true;
                    j.await(j.accept(id, whole, trailer));
                } else {
                    acceptSync.await();
                }
            } catch (IOException | RuntimeException e) {
                LOG.error("spool {}: cannot store message {} from {} ({}); answered 452 4.3.1", root, id, transaction.client().remote(),
                        e.toString());
                lastFailure = Optional.of(new StoreFailure(clock.instant(), e.toString(), noSpace(e)));
                text.discard();
                if (journaled) {
                    journal.done(id); // its record may reach the disk yet: start-up must not take it for accepted
                }
                // The envelope may have been linked and its directory's fsync failed: not accepted either. Only names this
                // commit made are removed: an id drawn twice (a clock set back across a restart) finds another message's
                // text or envelope there, which has had its 250. Each removal on its own: whatever is left, the next
                // start-up removes text without an envelope.
                List<Path> made = new ArrayList<>();
                if (linked) {
                    made.add(envelope);
                }
                if (text.madeHere()) {
                    made.add(target);
                }
                for (Path p : made) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // see above
                    }
                }
                committing.remove(id);
                return new StoreOutcome.Failed(Replies.STORAGE_FAILURE);
            }
            if (text.spilled()) {
                LOG.debug("{}: {} octets, streamed to disk while arriving", id, text.size());
            }
            lastFailure = Optional.empty();
            logAccepted(transaction, id, text.size(), messageId, kind);
            Accepted accepted = new Accepted(id, json);
            try {
                for (Consumer<Accepted> l : listeners) {
                    l.accept(accepted);
                }
            } finally {
                committing.remove(id);
            }
            return new StoreOutcome.Stored(id);
        }

        @Override
        public synchronized void discard() {
            if (!ended) {
                ended = true;
                text.discard();
            }
        }
    }

    /**
     * Postfix's lines for an accepted message, the first a message's log has:
     * {@code ID: client=unknown[192.0.2.7], helo=<client.test>}, {@code ID: message-id=<x@client.test>}
     * (when the text has the field) and
     * {@code ID: from=<a@x.test>, size=1234, nrcpt=2 (queue incoming)}. The name is the client's
     * forward-confirmed one, or Postfix's {@code unknown}. A notice mxd writes itself has no client line, as
     * Postfix's bounces have none: log tools count {@code client=} lines as mail received.
     */
    private static void logAccepted(Transaction t, String id, long size, Optional<String> messageId, Envelope.Kind kind) {
        // The HELO name and the sender are the client's text: escaped (LogText), as every log line with outside text.
        if (kind == Envelope.Kind.MAIL) {
            LOG.info("{}: client={}[{}], helo=<{}>", id, t.client().name().orElse("unknown"),
                    dev.mxd.smtp.AddressText.of(t.client().remote().getAddress()), LogText.safe(t.client().helo()));
        }
        // Postfix's cleanup line, by which a message is traced from its sender's copy to this log; nothing without the field
        messageId.ifPresent(m -> LOG.info("{}: message-id={}", id, LogText.safe(m)));
        LOG.info("{}: from=<{}>, size={}, nrcpt={} (queue incoming)", id, LogText.safe(t.sender().map(Object::toString).orElse("")), size,
                t.recipients().size());
    }

    /** The text's Message-ID, for the log; empty when it has none or cannot be read now (its commit then fails anyway). */
    private static Optional<String> messageIdOf(IncomingText text) {
        try (java.io.InputStream in = text.received().open()) {
            String[] found = new String[1];
            HeaderFields.any(in, field -> HeaderFields.value(field, "Message-ID").map(v -> found[0] = v).isPresent());
            return Optional.ofNullable(found[0]);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The client's HELO/EHLO name as the trace field may carry it: ASCII, so that the field
     * alone never makes the text need SMTPUTF8 (RFC 6532 allows UTF-8 fields only there). A
     * U-label name goes in A-labels (RFC 5890 §2.3.2.1); anything else outside printable ASCII
     * (a name that is not valid IDNA, a control character) becomes '?'.
     */
    static String asciiHelo(String helo) {
        String name = Mailbox.asciiDomain(helo).orElse(helo);
        StringBuilder sb = new StringBuilder(name.length());
        name.codePoints().forEach(cp -> sb.append(cp > ' ' && cp < 0x7f ? (char) cp : '?'));
        return sb.toString();
    }

    /** The trace header RFC 5321 §4.4 requires, with the protocol names of RFC 3848. */
    private byte[] receivedHeader(Transaction m, String id, Instant now) {
        var c = m.client();
        String protocol = m.parameters().smtputf8() ? "UTF8SMTP" : c.esmtp() ? "ESMTP" : "SMTP";
        if (c.tls() && !protocol.equals("SMTP")) {
            protocol += "S"; // RFC 3848 has no name for HELO inside TLS
        }
        // RFC 5952's form, as Postfix writes it, and no scope: "fe80::1%eth0" is no RFC 5321 IPv6-addr
        String ip = dev.mxd.smtp.AddressText.of(c.remote().getAddress());
        String literal = ip.indexOf(':') >= 0 ? "[IPv6:" + ip + "]" : "[" + ip + "]";
        // RFC 5321 §4.4 TCP-info: "(name [address])" when the name is confirmed, as Postfix writes it; else the address alone.
        String tcpInfo = c.name().filter(n -> n.chars().allMatch(ch -> ch > ' ' && ch < 0x7f)).map(n -> n + " " + literal).orElse(literal);
        StringBuilder h = new StringBuilder("Received: ");
        if (c.internal()) {
            // Mail mxd makes itself came from no client and by no protocol: "by HOST (mxd) id ID", as Postfix writes a
            // bounce's "Received: by HOST (Postfix) id ID" (a "from localhost ... with ESMTP" read as a local process's)
            h.append("by ").append(hostname).append(" (mxd) id ").append(id);
        } else {
            h.append("from ").append(asciiHelo(c.helo())).append(" (").append(tcpInfo).append(")\r\n");
            // As Postfix: "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"; ASCII only, the text is mxd's own.
            c.tlsDetails().filter(t -> t.chars().allMatch(ch -> ch >= ' ' && ch < 0x7f))
                    .ifPresent(t -> h.append("\t(using ").append(t).append(")\r\n"));
            h.append("\tby ").append(hostname).append(" (mxd) with ").append(protocol).append(" id ").append(id);
        }
        if (m.recipients().size() == 1) {
            // A-labels where the domain has them: this trace field alone must not make the text need SMTPUTF8.
            var to = m.recipients().get(0).address();
            h.append("\r\n\tfor <").append(to.toAscii().orElse(to)).append('>');
        }
        h.append("; ").append(Timestamps.rfc5322(now)).append("\r\n");
        return h.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The queue ids in one state, oldest first (ids sort by arrival). One listing of the directory
     * as names, no object per file: a million ids cost about 60 MB while they are held.
     */
    public List<String> ids(QueueState state) throws IOException {
        java.io.File dir = root.resolve(state.directory()).toFile();
        String[] names = dir.list();
        if (names == null) {
            if (!dir.exists()) {
                return new ArrayList<>();
            }
            throw new IOException("cannot list " + dir);
        }
        int n = 0;
        for (String name : names) {
            if (name.endsWith(".json")) {
                names[n++] = name.substring(0, name.length() - ".json".length());
            }
        }
        String[] out = java.util.Arrays.copyOf(names, n);
        java.util.Arrays.sort(out);
        return new ArrayList<>(java.util.Arrays.asList(out));
    }

    /** How many messages are in one state: a directory listing, no envelope is read (metrics, the status page). */
    public int count(QueueState state) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(root.resolve(state.directory()), "*.json")) {
            for (Path ignored : dir) {
                n++;
            }
        } catch (NoSuchFileException e) {
            return 0;
        }
        return n;
    }

    /** When a message arrived, from its queue id alone (ids begin with the arrival time); empty for a foreign name. */
    public static Optional<Instant> arrivalOf(String id) {
        return QueueIds.arrival(id);
    }

    /** Which state directory holds this message's envelope, if it is in the spool. */
    public Optional<QueueState> state(String id) {
        for (QueueState q : STATES) {
            if (Files.exists(envelopePath(q, id))) {
                return Optional.of(q);
            }
        }
        return Optional.empty();
    }

    public Envelope envelope(QueueState state, String id) throws IOException {
        Path file = envelopePath(state, id);
        Envelope e;
        try {
            e = EnvelopeFile.read(file);
        } catch (NoSuchFileException gone) {
            throw gone;
        } catch (IOException | RuntimeException unreadable) {
            if (!Files.exists(file)) {
                // Finished while being read, its file emptied or holding the next text: gone, not damaged.
                throw new NoSuchFileException(file.toString(), null, "finished while being read");
            }
            throw unreadable;
        }
        if (!e.id().equals(id)) {
            if (!Files.exists(file)) {
                // Opened as this message finished and its text file became a spare, read after the next message took it.
                throw new NoSuchFileException(file.toString(), null, "finished while being read (the file holds " + e.id() + ")");
            }
            // Still there, and another message's: a copy or a restore by hand. Damaged, not gone: listed and shown as
            // such, so that the operator sees it (it was counted, and said not to exist).
            throw new IOException(file + " holds the envelope of " + e.id() + ", not of " + id
                    + " (copied or restored by hand?); its own envelope is lost, and data/" + id + " holds its text");
        }
        return e;
    }

    /**
     * The file holding the spooled text (Received header first): read only its first
     * {@link Envelope#size()} octets; the envelope the message was accepted with may follow.
     */
    public Path text(String id) {
        return data.resolve(id);
    }

    /**
     * Persists new recipient states in place: the next attempt sees them even after a crash.
     * Written beside the old envelope, fsynced, renamed over it; the directory fsync is shared
     * with the other updates of the moment.
     */
    public void update(QueueState state, Envelope e) throws IOException {
        Path target = envelopePath(state, e.id());
        DurableFiles.replace(target.resolveSibling(target.getFileName() + NEW), target, EnvelopeJson.write(e));
        stateSync.get(state).await();
    }

    /**
     * Files a message in {@code deferred/} until {@code nextAttempt}. As in Postfix, the time is
     * the envelope file's modification time, so finding due messages reads no envelope.
     */
    public void defer(String id, QueueState from, Instant nextAttempt) throws IOException {
        if (from == QueueState.INCOMING && attached) {
            // A commit of this process beside the server: its file in incoming/ is dated ahead so that the server leaves it
            // alone; dated now there, a stall before the move would let the server take it and the move fail after a
            // commit. Moved first, then dated; a message the operator took from deferred/ meanwhile is theirs.
            move(id, from, QueueState.DEFERRED);
            try {
                Files.setLastModifiedTime(envelopePath(QueueState.DEFERRED, id), FileTime.from(nextAttempt));
            } catch (NoSuchFileException takenByTheOperator) {
                // held, deleted or flushed (which dated it itself) in between
            }
            return;
        }
        // The time first, then the move (a rename keeps it): once in deferred/ the message is the operator's to hold, flush
        // or delete, and a time set after the move failed on a message held meanwhile, or undid a flush.
        Files.setLastModifiedTime(envelopePath(from, id), FileTime.from(nextAttempt));
        if (from != QueueState.DEFERRED) {
            move(id, from, QueueState.DEFERRED);
        }
    }

    /** When a deferred message is next due (its envelope's modification time). */
    public Instant nextAttempt(String id) throws IOException {
        return Files.getLastModifiedTime(envelopePath(QueueState.DEFERRED, id)).toInstant();
    }

    /** Up to {@code limit} deferred messages due at {@code now}, by reading only the directory and file times. */
    public List<String> due(Instant now, int limit) throws IOException {
        return due(QueueState.DEFERRED, now, limit);
    }

    /**
     * Up to {@code limit} messages in {@code state} whose envelope file time is {@code now} or
     * earlier (for {@code deferred/}, the next attempt; elsewhere, the last write).
     */
    public List<String> due(QueueState state, Instant now, int limit) throws IOException {
        return dueFrom(state, now, limit, 0, id -> true).ids();
    }

    /**
     * Whether this spool is committing {@code id} right now: its envelope may be in incoming/
     * already, but the message is not accepted until its fsync is done, and a failed fsync removes
     * it. A scan of incoming/ passes such a message over.
     */
    public boolean committing(String id) {
        return committing.contains(id);
    }

    /** Due ids found by {@link #dueFrom}, and where the next such listing should start. */
    public record DueWindow(List<String> ids, int next) {}

    /**
     * Up to {@code limit} due ids in {@code state} that {@code wanted} accepts, as
     * {@link #due(QueueState, Instant, int)} finds them (it is this with no skip), but starting {@code skip} entries into
     * the directory's listing and going round to its start: listings that each start where the
     * last one stopped take turns through the whole directory, instead of finding the same first
     * entries every time. {@link DueWindow#next} is the {@code skip} for the next listing.
     */
    public DueWindow dueFrom(QueueState state, Instant now, int limit, int skip, java.util.function.Predicate<String> wanted)
            throws IOException {
        return dueFrom(state, now, Instant.MAX, limit, skip, wanted);
    }

    /**
     * As {@link #dueFrom(QueueState, Instant, int, int, java.util.function.Predicate)}, and a file dated after
     * {@code latest}, later than anything in {@code state} is ever dated, is due too: it was dated by a clock that has
     * since been set back (an NTP step, a virtual machine restored from a snapshot), and would otherwise wait out the
     * step as well as its own time.
     */
    public DueWindow dueFrom(QueueState state, Instant now, Instant latest, int limit, int skip,
                             java.util.function.Predicate<String> wanted) throws IOException {
        List<String> out = new ArrayList<>();
        int passes = skip > 0 ? 2 : 1; // the second goes round to the entries the first skipped
        for (int pass = 0; pass < passes && out.size() < limit; pass++) {
            int position = 0;
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(root.resolve(state.directory()), "*.json")) {
                for (Path f : dir) {
                    if (pass == 1 && position >= skip) {
                        break; // round to where the first pass began
                    }
                    position++;
                    if (pass == 0 && position <= skip) {
                        continue;
                    }
                    try {
                        Instant dated = Files.getLastModifiedTime(f).toInstant();
                        if (dated.isAfter(now) && !dated.isAfter(latest)) {
                            continue;
                        }
                    } catch (NoSuchFileException movedMeanwhile) {
                        continue; // taken by another step since the listing
                    }
                    String name = f.getFileName().toString();
                    String id = name.substring(0, name.length() - 5);
                    if (wanted.test(id)) {
                        out.add(id);
                        if (out.size() >= limit) {
                            return new DueWindow(out, position);
                        }
                    }
                }
            }
        }
        return new DueWindow(out, 0); // went round: the next listing starts at the beginning
    }

    /** Moves a message to another state, durably; the directory fsync is shared with the other moves of the moment. */
    public void move(String id, QueueState from, QueueState to) throws IOException {
        DurableFiles.rename(envelopePath(from, id), envelopePath(to, id));
        movedHookForTest.accept(id, to);
        stateSync.get(to).await();
    }

    /** Runs after each {@link #move}'s rename, before its directory fsync: tests act there as an operator could. A no-op in use. */
    static volatile java.util.function.BiConsumer<String, QueueState> movedHookForTest = (id, to) -> { };

    /**
     * Moves a message into {@code active/} for a delivery attempt. No directory fsync: start-up
     * moves {@code active/} back to {@code incoming/}, so after a crash the message is where it
     * would be either way; whatever the attempt changes is persisted with its own fsyncs.
     */
    public void activate(String id, QueueState from) throws IOException {
        DurableFiles.rename(envelopePath(from, id), envelopePath(QueueState.ACTIVE, id));
    }

    /**
     * Removes a message for good (the operator's delete): the envelope first, made durable by a
     * directory fsync (shared with other removals at the same time), then the text, so a crash in
     * between leaves only text, removed at start-up.
     */
    public void remove(QueueState state, String id) throws IOException {
        long done = forget(id);
        if (done > 0) {
            journal.await(done); // on disk before the files go: after a power failure the journal must not bring it back
        }
        Files.deleteIfExists(envelopePath(state, id));
        stateSync.get(state).await();
        Files.deleteIfExists(data.resolve(id));
    }

    /**
     * Removes a message whose recipients are all done, without waiting for the disk, as Postfix
     * does: after a crash either both files are gone, or start-up removes the one left (text
     * without envelope, or envelope without text), or both are back and the message is delivered
     * again (a duplicate, never a loss). The text's file is kept as a spare for a later text
     * instead of being deleted ({@link SpareFiles}); only the step that finishes a message calls
     * this, after its last read of the text.
     */
    public void finish(QueueState state, String id) throws IOException {
        forget(id);
        DurableFiles.unlink(envelopePath(state, id));
        spares.give(data.resolve(id));
    }

    /**
     * The journal need not hold a finished or removed message (before its files go: see
     * {@link AcceptJournal#done}); returns the position of its done record, 0 when none was written.
     */
    private long forget(String id) {
        AcceptJournal j = journal;
        return j == null ? 0 : j.done(id);
    }

    /**
     * Empties the spare files that have kept a finished text for {@link #SPARE_HOLD}; cheap when
     * there is nothing to do. Leaves, checkpoints and deletes the accept journal's segments, and
     * fsyncs {@code data/}, which hands out the spares given since the last time (journaled
     * commits do not fsync it). The queue manager calls it a few times a second.
     */
    public void tidy() {
        spares.sweep();
        tidyJournal(false);
    }

    /**
     * Lets go of the descriptors the spool keeps open (directories it fsyncs, the accept journal's segments), once
     * nothing is stored or delivered any more: an embedding program that stops and starts a node leaks none. Files
     * stay as they are for the next start.
     */
    public void close() {
        AcceptJournal j = journal;
        if (j != null) {
            j.close();
        }
        acceptSync.close();
        stateSync.values().forEach(GroupSync::close);
    }

    /** Empties every spare file that keeps a finished text, checkpoints the journal (the queue manager, when it stops). */
    public void tidyAll() {
        spares.sweepAll();
        tidyJournal(true);
    }

    private void tidyJournal(boolean all) {
        AcceptJournal j = journal;
        if (j == null) {
            return;
        }
        try {
            acceptSync.await();
            j.tidy(all);
        } catch (IOException e) {
            LOG.warn("spool {}: cannot tidy the accept journal now: {}", root, e.toString());
        }
    }

    /** The accept journal, or null (tests). */
    AcceptJournal journalForTest() {
        return journal;
    }

    /** Messages the accept journal holds now, not yet finished or checkpointed (tests). */
    int journalHolds() {
        return journal == null ? 0 : journal.liveCount();
    }

    public Path root() {
        return root;
    }

    /** Whether a file in {@code data/} is a spare kept for a later text (docs/spool.md), not a message's text. */
    public static boolean isSpare(Path file) {
        return SpareFiles.isSpare(file.getFileName().toString());
    }

    private Path envelopePath(QueueState state, String id) {
        return root.resolve(state.directory()).resolve(id + ".json");
    }

    private static List<Path> list(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        } catch (NoSuchFileException e) {
            return out;
        }
        return out;
    }
}
