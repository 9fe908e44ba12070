package dev.mxd.filter;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.smtp.MailParameters;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The quarantine under {@code <data-dir>/quarantine/}: messages held back by the filter, never
 * delivered unless released. Written like the spool, before the SMTP reply: each file goes to
 * {@code tmp/}, is fsynced, renamed into place, and the directory fsynced; the message text
 * ({@code ID.eml}) first and the metadata ({@code ID.json}) last, so an entry exists exactly when
 * its JSON does. IDs sort by arrival ({@code 20261126T052300123Z-3f9a1c2b}), which makes
 * newest-first paging a sort of file names.
 *
 * <p>{@link #release} moves an entry to {@code released/} (text first, JSON last) and returns what
 * re-injection needs; the caller deletes it with {@link #forget} once the spool has it, so a crash
 * in between leaves it in {@code released/} to be injected again rather than lost.
 * {@link #pending} accepts whatever a crash leaves between those steps.
 *
 * <p>Releases of one entry may race (two admin requests, or {@code mxd quarantine release} beside
 * a running server): {@link #release} hands an entry to the one caller whose own rename of its text
 * succeeded. Whoever releases, injects and forgets, or resumes {@link #pending} releases, does so
 * holding {@link #lock}, so nothing already released is injected a second time from {@code released/}.
 */
public final class Quarantine {

    private static final Pattern ID = Pattern.compile("\\d{8}T\\d{9}Z-[0-9a-f]{8}");

    /** Whether {@code id} has the form of an entry's id. */
    public static boolean isId(String id) {
        return ID.matcher(id).matches();
    }
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One in-process lock per quarantine directory: a file lock is held by the JVM, not by a thread. */
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final DirectorySync sync;

    /** Makes the renames in a directory durable; a test may make it fail (no real way exists for root). */
    @FunctionalInterface
    interface DirectorySync {
        void fsync(Path dir) throws IOException;
    }

    /** The quarantine of a data directory; nothing is created until a message is stored. */
    public Quarantine(Path dataDir) {
        this(dataDir, Quarantine::fsyncDirectory);
    }

    Quarantine(Path dataDir, DirectorySync sync) {
        this.dir = dataDir.resolve("quarantine");
        this.sync = sync;
    }

    /** Held while a release is taken, injected and forgotten; close it to let the next one in. */
    public interface Lock extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    /**
     * Waits for the quarantine's release lock: a lock of this process (threads) and, on the
     * outermost hold, an exclusive lock of {@code quarantine/.lock} for other processes (the
     * {@code mxd quarantine release} command beside a running server). Reentrant in one thread.
     */
    public Lock lock() throws IOException {
        createPrivately(dir);
        // by the real path: one directory reached by two names is still one lock (a second FileLock would throw)
        ReentrantLock local = LOCKS.computeIfAbsent(dir.toRealPath(), d -> new ReentrantLock());
        local.lock();
        if (local.getHoldCount() > 1) {
            return local::unlock;
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            java.nio.channels.FileLock held = channel.lock();
            FileChannel open = channel;
            return () -> {
                try (open) {
                    held.release();
                } finally {
                    local.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            local.unlock();
            throw new IOException("cannot lock " + dir.resolve(".lock") + " for a quarantine release (" + e + ")"
                    + ": check that the directory is writable", e);
        }
    }

    public Path directory() {
        return dir;
    }

    /**
     * A page of entries, newest first, and how many there are in all; {@code unreadable}: the entries
     * of the page whose metadata cannot be read, as "ID: why" (one damaged file must not hide the others).
     */
    public record Page(List<QuarantineEntry> entries, int total, List<String> unreadable) {
        public Page {
            entries = List.copyOf(entries);
            unreadable = List.copyOf(unreadable);
        }
    }

    /** What re-injection needs: the original envelope and the message text. */
    public record Released(QuarantineEntry entry, Path messageFile) {}

    /** Released entries to inject, and those a person must look at (each a sentence saying what and where). */
    public record Pending(List<Released> releases, List<String> problems) {
        public Pending {
            releases = List.copyOf(releases);
            problems = List.copyOf(problems);
        }
    }

    /**
     * Stores a message durably; returns its entry once text, metadata and directory are on disk.
     * On failure (the caller answers 452) nothing that is not an entry is left behind, as far as
     * the file system lets it be removed; what a crash leaves, {@link #removeLeftovers} removes.
     */
    public QuarantineEntry store(MessageSource message, ScanEnvelope envelope, String reason, List<EngineResult> results,
                                 Instant arrival) throws IOException {
        return store(message, envelope, Optional.empty(), reason, summaries(results), arrival);
    }

    /**
     * As {@link #store(MessageSource, ScanEnvelope, String, List, Instant)}, keeping the MAIL
     * parameters the message came with (SMTPUTF8, BODY) for its release.
     */
    public QuarantineEntry store(MessageSource message, ScanEnvelope envelope, MailParameters received, String reason,
                                 List<EngineResult> results, Instant arrival) throws IOException {
        return store(message, envelope, received, List.of(), reason, results, arrival);
    }

    /**
     * As above, keeping each recipient's DSN parameters ({@code recipientDsn}, in the envelope's order) and the
     * message's RET and ENVID, so that a release asks for the notices the sender asked for (a NOTIFY=NEVER sender
     * got bounces after a release, a NOTIFY=SUCCESS one no success notice).
     */
    public QuarantineEntry store(MessageSource message, ScanEnvelope envelope, MailParameters received,
                                 List<dev.mxd.smtp.RcptParameters> recipientDsn, String reason, List<EngineResult> results,
                                 Instant arrival) throws IOException {
        return store(message, envelope, Optional.of(new QuarantineEntry.Received(received.smtputf8(),
                received.body() == MailParameters.Body.EIGHT_BIT_MIME, received.requireTls(), received.ret(), received.envid())),
                recipientDsn, reason, summaries(results), ID_TIME.format(arrival) + "-" + String.format("%08x", RANDOM.nextInt()),
                arrival);
    }

    /**
     * Puts the recipients at {@code indexes} of a released entry back into the quarantine, as an entry of their own
     * (a new id; the text copied, sender, reason, verdicts and MAIL parameters kept): those a release
     * could not queue, so that none of them is dropped when the released entry is forgotten. Call it
     * before {@link #forget}: a crash in between leaves both, and the release is repeated (this copy
     * made again: a second entry at worst, never a lost recipient).
     */
    public QuarantineEntry keep(Released r, List<Integer> indexes) throws IOException {
        QuarantineEntry e = r.entry();
        List<String> recipients = indexes.stream().map(e.recipients()::get).toList();
        // The id follows from the released entry and these recipients: a release repeated after a crash or a failed
        // spool finds the entry it kept before instead of keeping a second copy, which a second release would deliver.
        String id = e.id().substring(0, e.id().indexOf('-')) + "-" + String.format("%08x",
                (e.id() + "|" + String.join(",", recipients)).hashCode() ^ 0x6b656570);
        Optional<QuarantineEntry> before = find(id);
        if (before.isPresent()) {
            return before.get();
        }
        // A keep of this id a crash cut short left its files in tmp/ (or its text alone in place): made again whole.
        for (Path leftover : List.of(dir.resolve("tmp").resolve(id + ".eml"), dir.resolve("tmp").resolve(id + ".json"),
                dir.resolve(id + ".eml"))) {
            Files.deleteIfExists(leftover);
        }
        ScanEnvelope envelope = new ScanEnvelope(e.queueId(), e.sender(), recipients, Optional.empty(), Optional.empty(),
                Optional.empty());
        List<dev.mxd.smtp.RcptParameters> dsn = indexes.stream().map(e::dsnOf).toList(); // by position: an address may come twice
        return store(MessageSource.of(r.messageFile()), envelope, e.received(), e.recipientDsn().isEmpty() ? List.of() : dsn,
                e.reason(), e.verdicts(), id, e.arrival());
    }

    private static List<String> summaries(List<EngineResult> results) {
        return results.stream().map(EngineResult::summary).toList();
    }

    private QuarantineEntry store(MessageSource message, ScanEnvelope envelope, Optional<QuarantineEntry.Received> received,
                                  String reason, List<String> verdicts, Instant arrival) throws IOException {
        return store(message, envelope, received, List.of(), reason, verdicts,
                ID_TIME.format(arrival) + "-" + String.format("%08x", RANDOM.nextInt()), arrival);
    }

    private QuarantineEntry store(MessageSource message, ScanEnvelope envelope, Optional<QuarantineEntry.Received> received,
                                  List<dev.mxd.smtp.RcptParameters> recipientDsn, String reason, List<String> verdicts, String id,
                                  Instant arrival) throws IOException {
        Path tmp = dir.resolve("tmp");
        boolean made = !Files.isDirectory(dir);
        createPrivately(dir);
        if (made) {
            sync.fsync(dir.toAbsolutePath().getParent()); // the new quarantine/ itself, or the first entry could go with it
        }
        Files.createDirectories(tmp);
        Path tmpText = tmp.resolve(id + ".eml");
        Path tmpMeta = tmp.resolve(id + ".json");
        try {
            long size;
            try (InputStream in = message.open(); FileChannel ch = FileChannel.open(tmpText, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(ch);
                size = in.transferTo(out);
                ch.force(true);
            }
            QuarantineEntry entry = new QuarantineEntry(id, arrival, envelope.queueId(), envelope.sender(), envelope.recipients(), reason,
                    size, verdicts, received, recipientDsn.size() == envelope.recipients().size() ? recipientDsn : List.of());
            try (FileChannel ch = FileChannel.open(tmpMeta, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                Channels.newOutputStream(ch).write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry.toJson()));
                ch.force(true);
            }
            move(tmpText, dir.resolve(id + ".eml"));
            move(tmpMeta, dir.resolve(id + ".json"));
            sync.fsync(dir);
            return entry;
        } catch (IOException | RuntimeException e) {
            // The caller answers 452 and the client sends the message again: whatever got into place
            // goes too (the JSON first, so no entry is left without its text), or it would be held twice.
            boolean placed = false;
            for (Path p : List.of(dir.resolve(id + ".json"), dir.resolve(id + ".eml"), tmpText, tmpMeta)) {
                try {
                    placed |= Files.deleteIfExists(p) && p.getParent().equals(dir);
                } catch (IOException ignored) {
                    // removed at a later start (removeLeftovers), or by an operator (the log names the directory)
                }
            }
            if (placed) {
                try {
                    sync.fsync(dir);
                } catch (IOException ignored) {
                    // a removal lost in a crash leaves an entry an operator may delete; nothing more can be done here
                }
            }
            throw e;
        }
    }

    /** The quarantine's directory, mode 0700 when this makes it (held mail is no other user's to read, whatever the umask). */
    private static void createPrivately(Path dir) throws IOException {
        Files.createDirectories(dir.toAbsolutePath().getParent());
        Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    }

    /** Entries newest first, {@code limit} from {@code offset}. */
    public Page list(int offset, int limit) throws IOException {
        if (offset < 0 || limit < 1) {
            throw new IllegalArgumentException("page from offset " + offset + " with limit " + limit + ": offset >= 0, limit >= 1");
        }
        List<String> ids = ids(dir);
        ids.sort(Comparator.reverseOrder());
        List<QuarantineEntry> page = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        for (int i = offset; i < ids.size() && page.size() + unreadable.size() < limit; i++) {
            try {
                find(ids.get(i)).ifPresent(page::add); // deleted meanwhile: skip
            } catch (IOException damaged) {
                unreadable.add(ids.get(i) + ": " + damaged.getMessage());
            }
        }
        return new Page(page, ids.size(), unreadable);
    }

    /** The entry with this id, if it is in the quarantine. */
    public Optional<QuarantineEntry> find(String id) throws IOException {
        if (!ID.matcher(id).matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(QuarantineEntry.fromJson(JSON.readTree(Files.readAllBytes(dir.resolve(id + ".json")))));
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        }
    }

    /** The message text of an entry (which exists when its metadata does). */
    public Path messageFile(String id) {
        return dir.resolve(requireId(id) + ".eml");
    }

    /** Deletes an entry; false if there was none. */
    public boolean delete(String id) throws IOException {
        if (!ID.matcher(id).matches() || !Files.deleteIfExists(dir.resolve(id + ".json"))) {
            return false;
        }
        Files.deleteIfExists(dir.resolve(id + ".eml"));
        sync.fsync(dir);
        return true;
    }

    /**
     * Takes an entry out of the quarantine for re-injection: moved to {@code released/}, so it is
     * not listed or released twice. Call {@link #forget} when the spool has accepted it. The text
     * moves first and the metadata last, as in {@link #store}: an entry is released once its JSON
     * is in {@code released/}, and its text is there by then.
     *
     * <p>The rename of the text claims the entry: only the caller whose own two renames succeed gets
     * it. A text already in {@code released/} may be a release running now in another thread or
     * process, so it is never taken for one a crash cut short; finishing those is {@link #pending}'s
     * work, under {@link #lock}.
     */
    public Optional<Released> release(String id) throws IOException {
        Optional<QuarantineEntry> entry = find(id);
        if (entry.isEmpty()) {
            return Optional.empty();
        }
        Path released = dir.resolve("released");
        Files.createDirectories(released);
        try {
            move(dir.resolve(id + ".eml"), released.resolve(id + ".eml"));
        } catch (NoSuchFileException claimedOrDeleted) {
            return Optional.empty(); // another release took it first, or it was deleted just now
        }
        try {
            move(dir.resolve(id + ".json"), released.resolve(id + ".json"));
        } catch (NoSuchFileException deletedOrFinished) {
            return Optional.empty(); // deleted just now, or pending() finished the move and hands it out itself
        }
        sync.fsync(released);
        sync.fsync(dir);
        return Optional.of(new Released(entry.get(), released.resolve(id + ".eml")));
    }

    /** Moves {@code ID.json} after its text into {@code released/}; false if it is in neither place. */
    private boolean finishMove(String id) throws IOException {
        Path target = dir.resolve("released").resolve(id + ".json");
        try {
            move(dir.resolve(id + ".json"), target);
            return true;
        } catch (NoSuchFileException movedMeanwhile) {
            return Files.exists(target); // another process finished this release first
        }
    }

    /**
     * Released entries not yet forgotten (after a crash: inject them again), with every state a
     * crash can leave in {@code released/} put right first (docs/filters.md):
     * <ul>
     *   <li>the text moved, the JSON still in the quarantine: the JSON follows (the release is finished);</li>
     *   <li>the JSON moved, the text still in the quarantine (the order of mxd before issue 13): the text follows;</li>
     *   <li>a text alone, its JSON in neither place: the rest of a {@link #forget} (the JSON goes
     *       first), removed;</li>
     *   <li>a JSON whose text is nowhere, or that cannot be read: left in place and reported in
     *       {@link Pending#problems}, since there is nothing to deliver and only an operator can say why.</li>
     * </ul>
     * Call it holding {@link #lock}, as every release does: a text in {@code released/} beside a JSON
     * still in the quarantine is then a crash's work, never a release running now.
     */
    public Pending pending() throws IOException {
        Path released = dir.resolve("released");
        List<Released> out = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (!Files.isDirectory(released)) {
            return new Pending(out, problems);
        }
        Set<String> ids = new TreeSet<>(ids(released));
        ids.addAll(texts(released));
        boolean moved = false;
        for (String id : ids) {
            Path json = released.resolve(id + ".json");
            Path eml = released.resolve(id + ".eml");
            if (!Files.exists(json)) {
                // JSON moves only from the quarantine to released/, so absent from both, checked in that order, it is gone.
                if (Files.exists(dir.resolve(id + ".json")) || Files.exists(json)) {
                    if (!finishMove(id)) {
                        continue; // forgotten or deleted by someone else just now
                    }
                    moved = true;
                } else {
                    Files.deleteIfExists(eml);
                    moved = true;
                    continue;
                }
            }
            if (!Files.exists(eml)) {
                try {
                    move(dir.resolve(id + ".eml"), eml);
                    moved = true;
                } catch (NoSuchFileException nowhere) {
                    problems.add(json + " has no message text (" + id + ".eml) in " + released + " or " + dir
                            + ": nothing to deliver; remove it once you know why");
                    continue;
                }
            }
            try {
                out.add(new Released(QuarantineEntry.fromJson(JSON.readTree(Files.readAllBytes(json))), eml));
            } catch (IOException | RuntimeException unreadable) {
                problems.add(json + " cannot be read (" + unreadable.getMessage() + "): repair or remove it; "
                        + id + ".eml beside it is the message");
            }
        }
        if (moved) {
            sync.fsync(released);
            sync.fsync(dir);
        }
        return new Pending(out, problems);
    }

    /** The releases ready to inject, from {@link #pending}; those only an operator can put right are left out. */
    public List<Released> pendingReleases() throws IOException {
        return pending().releases();
    }

    /**
     * Removes a released entry once it has been re-injected: the JSON first, so a crash in between
     * leaves only a text, which {@link #pending} recognises and removes.
     */
    public void forget(Released r) throws IOException {
        Path released = dir.resolve("released");
        Files.deleteIfExists(released.resolve(r.entry().id() + ".json"));
        Files.deleteIfExists(released.resolve(r.entry().id() + ".eml"));
        sync.fsync(released);
    }

    /**
     * Undoes a release whose message the spool did not take (a full disk, say): the entry is back in
     * the quarantine under its id, where list, show, delete and another release see it (in
     * {@code released/} it was out of every operator's sight, and the next start would have
     * released it after all). The JSON goes back first: a crash between the two moves leaves the
     * text in {@code released/} and the JSON in the quarantine, which {@link #pending} takes for a
     * release that was finishing, so the next start completes the release the operator asked for.
     */
    public void putBack(Released r) throws IOException {
        Path released = dir.resolve("released");
        String id = r.entry().id();
        move(released.resolve(id + ".json"), dir.resolve(id + ".json"));
        move(released.resolve(id + ".eml"), dir.resolve(id + ".eml"));
        sync.fsync(dir);
        sync.fsync(released);
    }

    /**
     * Removes what a crash can leave behind that is no entry: files in {@code tmp/} (a store cut
     * short, so never answered 250) and texts in the quarantine without a JSON anywhere (the rest
     * of a {@link #delete}, or of a store whose JSON never left {@code tmp/}). Only those last
     * changed before {@code before}: a store of the running server may be between its two renames.
     * Returns how many files were removed.
     */
    public int removeLeftovers(Instant before) throws IOException {
        int removed = 0;
        for (Path f : files(dir.resolve("tmp"), "*")) {
            removed += removeIfOlder(f, before);
        }
        for (String id : texts(dir)) {
            if (!Files.exists(dir.resolve(id + ".json")) && !Files.exists(dir.resolve("released").resolve(id + ".json"))) {
                removed += removeIfOlder(dir.resolve(id + ".eml"), before);
            }
        }
        return removed;
    }

    private static int removeIfOlder(Path f, Instant before) throws IOException {
        try {
            if (Files.isRegularFile(f) && Files.getLastModifiedTime(f).toInstant().isBefore(before)) {
                return Files.deleteIfExists(f) ? 1 : 0;
            }
        } catch (NoSuchFileException gone) {
            // removed meanwhile
        }
        return 0;
    }

    /** The ids of the message texts ({@code ID.eml}) in a directory. */
    private static List<String> texts(Path in) throws IOException {
        List<String> ids = new ArrayList<>();
        for (Path f : files(in, "*.eml")) {
            String name = f.getFileName().toString();
            String id = name.substring(0, name.length() - ".eml".length());
            if (ID.matcher(id).matches()) {
                ids.add(id);
            }
        }
        return ids;
    }

    private static List<Path> files(Path in, String glob) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(in)) {
            return out;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(in, glob)) {
            files.forEach(out::add);
        }
        return out;
    }

    private static List<String> ids(Path in) throws IOException {
        List<String> ids = new ArrayList<>();
        if (!Files.isDirectory(in)) {
            return ids;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(in, "*.json")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String id = name.substring(0, name.length() - ".json".length());
                if (ID.matcher(id).matches()) {
                    ids.add(id);
                }
            }
        }
        return ids;
    }

    private static String requireId(String id) {
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("'" + id + "' is not a quarantine id (like 20261126T052300123Z-3f9a1c2b)");
        }
        return id;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically: keep the quarantine on one file system", e);
        }
    }

    /** Makes renames in {@code dir} durable (Linux: fsync on the directory). */
    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
