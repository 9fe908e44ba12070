package dev.mxd.filter;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.regex.Pattern;

/**
 * The quarantine under {@code <data-dir>/quarantine/}: messages held back by the filter, never
 * delivered unless released. Written like the spool, before the SMTP reply: each file goes to
 * {@code tmp/}, is fsynced, renamed into place, and the directory fsynced; the message text
 * ({@code ID.eml}) first and the metadata ({@code ID.json}) last, so an entry exists exactly when
 * its JSON does. IDs sort by arrival ({@code 20261126T052300123Z-3f9a1c2b}), which makes
 * newest-first paging a sort of file names.
 *
 * <p>{@link #release} moves an entry to {@code released/} and returns what re-injection needs; the
 * caller deletes it with {@link #forget} once the spool has it, so a crash in between leaves it in
 * {@code released/} to be injected again rather than lost.
 */
public final class Quarantine {

    private static final Pattern ID = Pattern.compile("\\d{8}T\\d{9}Z-[0-9a-f]{8}");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;

    /** The quarantine of a data directory; nothing is created until a message is stored. */
    public Quarantine(Path dataDir) {
        this.dir = dataDir.resolve("quarantine");
    }

    public Path directory() {
        return dir;
    }

    /** A page of entries, newest first, and how many there are in all. */
    public record Page(List<QuarantineEntry> entries, int total) {
        public Page {
            entries = List.copyOf(entries);
        }
    }

    /** What re-injection needs: the original envelope and the message text. */
    public record Released(QuarantineEntry entry, Path messageFile) {}

    /** Stores a message durably; returns its entry once text, metadata and directory are on disk. */
    public QuarantineEntry store(MessageSource message, ScanEnvelope envelope, String reason, List<EngineResult> results,
                                 Instant arrival) throws IOException {
        Path tmp = dir.resolve("tmp");
        Files.createDirectories(tmp);
        String id = ID_TIME.format(arrival) + "-" + String.format("%08x", RANDOM.nextInt());
        long size;
        Path tmpText = tmp.resolve(id + ".eml");
        try (InputStream in = message.open(); FileChannel ch = FileChannel.open(tmpText, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            OutputStream out = Channels.newOutputStream(ch);
            size = in.transferTo(out);
            ch.force(true);
        }
        QuarantineEntry entry = new QuarantineEntry(id, arrival, envelope.queueId(), envelope.sender(), envelope.recipients(), reason,
                size, results.stream().map(EngineResult::summary).toList());
        Path tmpMeta = tmp.resolve(id + ".json");
        try (FileChannel ch = FileChannel.open(tmpMeta, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            Channels.newOutputStream(ch).write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry.toJson()));
            ch.force(true);
        }
        move(tmpText, dir.resolve(id + ".eml"));
        move(tmpMeta, dir.resolve(id + ".json"));
        fsyncDirectory(dir);
        return entry;
    }

    /** Entries newest first, {@code limit} from {@code offset}. */
    public Page list(int offset, int limit) throws IOException {
        if (offset < 0 || limit < 1) {
            throw new IllegalArgumentException("page from offset " + offset + " with limit " + limit + ": offset >= 0, limit >= 1");
        }
        List<String> ids = ids(dir);
        ids.sort(Comparator.reverseOrder());
        List<QuarantineEntry> page = new ArrayList<>();
        for (int i = offset; i < ids.size() && page.size() < limit; i++) {
            find(ids.get(i)).ifPresent(page::add); // deleted meanwhile: skip
        }
        return new Page(page, ids.size());
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
        fsyncDirectory(dir);
        return true;
    }

    /**
     * Takes an entry out of the quarantine for re-injection: moved to {@code released/}, so it is
     * not listed or released twice. Call {@link #forget} when the spool has accepted it.
     */
    public Optional<Released> release(String id) throws IOException {
        Optional<QuarantineEntry> entry = find(id);
        if (entry.isEmpty()) {
            return Optional.empty();
        }
        Path released = dir.resolve("released");
        Files.createDirectories(released);
        try {
            move(dir.resolve(id + ".json"), released.resolve(id + ".json"));
        } catch (NoSuchFileException raced) {
            return Optional.empty(); // released or deleted by someone else just now
        }
        move(dir.resolve(id + ".eml"), released.resolve(id + ".eml"));
        fsyncDirectory(released);
        fsyncDirectory(dir);
        return Optional.of(new Released(entry.get(), released.resolve(id + ".eml")));
    }

    /** Released entries not yet forgotten (after a crash: inject them again). */
    public List<Released> pendingReleases() throws IOException {
        Path released = dir.resolve("released");
        List<Released> out = new ArrayList<>();
        for (String id : ids(released)) {
            out.add(new Released(QuarantineEntry.fromJson(JSON.readTree(Files.readAllBytes(released.resolve(id + ".json")))), released.resolve(id + ".eml")));
        }
        return out;
    }

    /** Removes a released entry once it has been re-injected. */
    public void forget(Released r) throws IOException {
        Path released = dir.resolve("released");
        Files.deleteIfExists(released.resolve(r.entry().id() + ".json"));
        Files.deleteIfExists(released.resolve(r.entry().id() + ".eml"));
        fsyncDirectory(released);
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
