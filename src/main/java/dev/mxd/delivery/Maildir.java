package dev.mxd.delivery;

import dev.mxd.queue.DurableFiles;
import dev.mxd.smtp.HeaderFieldRemover;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maildir delivery (the convention of qmail's maildir(5), which Dovecot reads): the file is
 * written in {@code tmp/} under a name unique to this host, process and delivery, fsynced,
 * then linked into {@code new/} (its {@code tmp/} name removed after), and {@code new/} is fsynced. A reader never sees a partial
 * message, and a delivery the caller was told about survives a crash. A crash while the file is
 * in {@code tmp/} leaves it there, unseen by readers (which remove such files after 36 hours, as
 * maildir(5) says), and the spool delivers the message again whole; a crash after the link and
 * before the spool records the delivery delivers it twice, never not at all.
 * Mailboxes live at {@code <mail-root>/<domain>/<mailbox>/Maildir}.
 *
 * <p>Lines end in LF on disk, as Postfix's local and Dovecot's own delivery agent write them and
 * as Dovecot expects (it adds the CR back when it serves a message over IMAP or POP3): the
 * spooled text's CRLF pairs are converted while they are copied ({@link LineEnds}); a lone CR
 * and every other octet are kept. The spool itself keeps CRLF, so mail forwarded on is unchanged.
 *
 * <p>Files are created mode 0600 and the directories mxd creates mode 0700, as Postfix's local
 * and Dovecot's own delivery agent create them, and, when {@link Ownership} names a user or
 * group, they are given to them before the link, so the mailbox owner's IMAP server (which
 * refuses to serve mail owned by root) can read them the moment they appear in {@code new/}.
 */
public final class Maildir {

    /** The field a final delivery writes itself, left out of the text (RFC 5321 §4.4). */
    private static final List<String> RETURN_PATH = List.of("Return-Path");

    private static final Logger LOG = LoggerFactory.getLogger(Maildir.class);

    private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwx------");
    private static final int BUFFER = 64 * 1024;

    private final Path mailRoot;
    private final String host;
    private final Clock clock;
    private final Ownership ownership;
    private final long pid = ProcessHandle.current().pid();
    private final AtomicLong deliveries = new AtomicLong();
    private final DirectorySync sync;
    /** Files are given away by root: the mailbox owner owns the mailbox's directories and must not lead root elsewhere. */
    private final boolean guardLinks;

    /** fsync of a directory ({@link DurableFiles#syncDirectory}). */
    @FunctionalInterface
    interface DirectorySync {
        void sync(Path directory) throws IOException;
    }

    public Maildir(Path mailRoot, String hostname, Clock clock) {
        this(mailRoot, hostname, clock, Ownership.NONE);
    }

    public Maildir(Path mailRoot, String hostname, Clock clock, Ownership ownership) {
        this(mailRoot, hostname, clock, ownership, DurableFiles::syncDirectory);
    }

    /** As above, with the directory fsync a test's own (one that fails, which no real disk does on demand). */
    Maildir(Path mailRoot, String hostname, Clock clock, Ownership ownership, DirectorySync sync) {
        this.sync = sync;
        this.guardLinks = ownership.givesAway() && runsAsRoot();
        this.mailRoot = mailRoot;
        // maildir(5): "/" and ":" in the host name are written as \057 and \072. At most 150 characters of it: with the
        // time, pid and counter before it a file name stays within 255 octets (a 253-character host name made every
        // delivery fail with "File name too long").
        String escaped = hostname.replace("/", "\\057").replace(":", "\\072");
        this.host = escaped.length() > MAX_HOST_IN_NAME ? escaped.substring(0, MAX_HOST_IN_NAME) : escaped;
        this.clock = clock;
        this.ownership = ownership;
    }

    /** Maildir owner or group settings that cannot work here: no such user, or mxd is not root. */
    public static final class UnusableOwnership extends IOException {
        private static final long serialVersionUID = 1L;

        UnusableOwnership(String message) {
            super(message);
        }
    }

    /**
     * Who delivered mail belongs to ({@code delivery.maildir-owner} and {@code maildir-group});
     * empty: whoever mxd runs as. Giving files away needs root, so {@link #of} refuses a user or
     * group when mxd does not run as root, at start-up rather than at the first delivery.
     */
    public record Ownership(Optional<UserPrincipal> owner, Optional<GroupPrincipal> group) {

        public static final Ownership NONE = new Ownership(Optional.empty(), Optional.empty());

        /** The owner and group by name, looked up in the system's user database. */
        public static Ownership of(Optional<String> owner, Optional<String> group) throws IOException {
            if (owner.isEmpty() && group.isEmpty()) {
                return NONE;
            }
            String running = System.getProperty("user.name", "?");
            long uid = uid();
            if (uid != 0 && (group.isPresent() || !owner.get().equals(running))) {
                throw new UnusableOwnership("delivery.maildir-owner/maildir-group (" + owner.orElse("-") + ":" + group.orElse("-")
                        + ") need mxd to run as root (it runs as " + running + ", uid " + uid + "): only root can give files"
                        + " to another user; run mxd as root, or remove those keys and run mxd as the mailbox owner");
            }
            UserPrincipalLookupService users = Path.of("/").getFileSystem().getUserPrincipalLookupService();
            Optional<UserPrincipal> user = Optional.empty();
            Optional<GroupPrincipal> of = Optional.empty();
            // each looked up on its own: the JDK's exception does not name what it did not find
            try {
                if (owner.isPresent()) {
                    user = Optional.of(users.lookupPrincipalByName(owner.get()));
                }
            } catch (UserPrincipalNotFoundException e) {
                throw new UnusableOwnership("delivery.maildir-owner: no user '" + owner.get() + "' on this system (getent passwd"
                        + " lists them); name an existing user, or remove the key to deliver as the user mxd runs as");
            }
            try {
                if (group.isPresent()) {
                    of = Optional.of(users.lookupPrincipalByGroupName(group.get()));
                }
            } catch (UserPrincipalNotFoundException e) {
                throw new UnusableOwnership("delivery.maildir-group: no group '" + group.get() + "' on this system (getent group"
                        + " lists them); name an existing group, or remove the key");
            }
            return new Ownership(user, of);
        }

        /**
         * Gives {@code path} itself away, never what it may have become: a link the mailbox owner
         * put in its place (in a directory of theirs, between the create and this call) is
         * changed, not its target, which could be any file root owns (lchown, not chown).
         */
        void apply(Path path) throws IOException {
            if (owner.isEmpty() && group.isEmpty()) {
                return;
            }
            PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            if (owner.isPresent()) {
                view.setOwner(owner.get());
            }
            if (group.isPresent()) {
                view.setGroup(group.get());
            }
        }

        boolean givesAway() {
            return owner.isPresent() || group.isPresent();
        }
    }

    /** The user id mxd runs as. */
    private static long uid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    private static boolean runsAsRoot() {
        try {
            return uid() == 0;
        } catch (IOException | RuntimeException unknown) {
            return true; // cannot tell: guard as if root
        }
    }

    /** The Maildir directory of a mailbox (domain and mailbox names were validated by the configuration). */
    public Path directory(String domain, String mailbox) {
        return mailRoot.resolve(domain).resolve(mailbox).resolve("Maildir");
    }

    /** Delivers {@code parts} (concatenated, CRLF written as LF) as one message; returns the file in {@code new/}. */
    public Path deliver(String domain, String mailbox, byte[]... parts) throws IOException {
        return write(domain, mailbox, lf -> {
            for (byte[] part : parts) {
                lf.write(part, 0, part.length);
            }
        });
    }

    /**
     * Delivers {@code headers} followed by the first {@code length} octets of the file {@code text},
     * streamed, CRLF written as LF, without the Return-Path fields the text's header section may
     * have ({@link HeaderFieldRemover}); returns the file in {@code new/}.
     */
    public Path deliver(String domain, String mailbox, byte[] headers, Path text, long length) throws IOException {
        return write(domain, mailbox, lf -> {
            try (FileChannel in = FileChannel.open(text, StandardOpenOption.READ)) {
                lf.write(headers, 0, headers.length);
                if (in.size() < length) {
                    throw new IOException(text + " has " + in.size() + " octets, " + length + " expected");
                }
                // headers carries the Return-Path of this delivery
                HeaderFieldRemover copy = new HeaderFieldRemover(lf::write, RETURN_PATH);
                ByteBuffer chunk = ByteBuffer.allocate(BUFFER); // streamed: one buffer, never the whole message
                for (long done = 0; done < length; ) {
                    chunk.clear().limit((int) Math.min(BUFFER, length - done));
                    int n = in.read(chunk, done);
                    if (n <= 0) {
                        throw new IOException("copying " + text + " stopped at byte " + done + " of " + length);
                    }
                    copy.write(chunk.array(), 0, n);
                    done += n;
                }
                copy.finish();
            }
        });
    }

    /** What a delivery writes into its file, through the LF conversion. */
    @FunctionalInterface
    private interface Content {
        void writeTo(LfWriter lf) throws IOException;
    }

    /**
     * The one way a message enters a Maildir: written to {@code tmp/}, fsynced, then moved to {@code new/}
     * ({@link #publish}); a failure on the way removes the half-written file and leaves nothing in {@code new/}.
     */
    private Path write(String domain, String mailbox, Content content) throws IOException {
        Path dir = prepare(domain, mailbox);
        String name = uniqueName();
        Path tmp = dir.resolve("tmp").resolve(name);
        FileChannel created = create(tmp); // a name someone else has in tmp/ fails here, and their file is left alone
        try (FileChannel out = created) {
            LfWriter lf = new LfWriter(out);
            content.writeTo(lf);
            lf.finish();
            out.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return publish(dir, tmp);
    }

    /** The file's side of {@link LineEnds}: converted octets, written a buffer at a time. */
    private static final class LfWriter {
        private final FileChannel out;
        private final LineEnds lineEnds = new LineEnds();
        private final byte[] converted = new byte[BUFFER + 1];

        LfWriter(FileChannel out) {
            this.out = out;
        }

        void write(byte[] bytes, int off, int len) throws IOException {
            for (int done = 0; done < len; ) {
                int n = Math.min(BUFFER, len - done);
                put(lineEnds.convert(bytes, off + done, n, converted));
                done += n;
            }
        }

        void finish() throws IOException {
            put(lineEnds.finish(converted));
        }

        private void put(int length) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(converted, 0, length);
            while (b.hasRemaining()) {
                out.write(b);
            }
        }
    }

    /** A new file, mode 0600, given to the owner before anything is written to it. */
    private FileChannel create(Path tmp) throws IOException {
        FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE);
        try {
            ownership.apply(tmp);
            return ch;
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * tmp/ → new/, made durable (docs/spool.md's contract, as the spool keeps it). By link(2), as qmail
     * and Postfix do, never rename(2): a rename replaces a file of the same name in new/ (two nodes
     * with one hostname, a clock set back), which would lose that message without a word; a link
     * fails instead, and the file is published under another unique name. A file system without hard
     * links gets a rename, after a look that no such file is there.
     */
    private Path publish(Path dir, Path tmp) throws IOException {
        Path target = dir.resolve("new").resolve(tmp.getFileName().toString());
        try {
            for (int tries = 1; ; tries++) {
                try {
                    Files.createLink(target, tmp);
                    break;
                } catch (FileAlreadyExistsException taken) {
                    if (tries == 10) {
                        throw new IOException("no unique name free in " + target.getParent() + " after " + tries + " tries", taken);
                    }
                    target = target.resolveSibling(uniqueName());
                } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
                    // Only a file system without hard links (vfat, some FUSE ones) gets the rename; any other failure
                    // (quota, permissions, a stale handle) is the delivery's failure, tried again later.
                    boolean noLinks = e instanceof UnsupportedOperationException
                            || !(e instanceof java.nio.file.AccessDeniedException) && !hardLinksWork(tmp.getParent());
                    if (!noLinks || Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                        throw e;
                    }
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    break;
                }
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        // The message is in new/ now; the name in tmp/ is only a second name for it (removed at a later cleanup if this fails).
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            LOG.warn("{}: cannot remove {} after its delivery to {} ({}); a second name only", dir, tmp, target, e.toString());
        }
        try {
            sync.sync(target.getParent());
        } catch (IOException notSynced) {
            // Taken back out of new/, so that the retry the caller is told of writes the one copy; if even that fails,
            // the copy a reader may already have seen stands as the delivery (a second one would be a duplicate).
            try {
                Files.delete(target);
            } catch (IOException cannotUndo) {
                LOG.warn("{}: {} is in new/ but its directory could not be synced ({}), nor the file taken back ({}); counted as"
                        + " delivered", dir, target, notSynced.toString(), cannotUndo.toString());
                return target;
            }
            throw notSynced;
        }
        return target;
    }

    /**
     * Whether link(2) works in {@code dir}, by trying it on two files of its own: the error text says the same
     * in a way that depends on the locale (strerror), the attempt does not. Asked only after a link failed.
     */
    private static boolean hardLinksWork(Path dir) {
        Path probe = dir.resolve(".mxd-link-probe-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId());
        Path second = dir.resolve(probe.getFileName() + ".2");
        try {
            Files.deleteIfExists(second);
            Files.deleteIfExists(probe);
            Files.createFile(probe);
            Files.createLink(second, probe);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(second);
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // a probe file left in tmp/ is removed as any stale file there is
            }
        }
    }

    /**
     * The mailbox's directories; those this call creates get mode 0700 and the owner. Existing
     * ones are left as the operator made them.
     */
    private Path prepare(String domain, String mailbox) throws IOException {
        Path box = mailRoot.resolve(domain).resolve(mailbox);
        Path dir = box.resolve("Maildir");
        List<Path> theirs = List.of(box.getParent(), box, dir, dir.resolve("tmp"), dir.resolve("new"), dir.resolve("cur"));
        if (Files.isDirectory(dir.resolve("tmp")) && Files.isDirectory(dir.resolve("new")) && Files.isDirectory(dir.resolve("cur"))) {
            refuseLinks(theirs);
            return dir;
        }
        // The mail root and the domain's directory too, when this delivery makes them: created root-owned with the
        // umask's mode, they kept the owner's IMAP server (Dovecot as vmail) out of mail reported delivered.
        Files.createDirectories(mailRoot.getParent() == null ? mailRoot : mailRoot.getParent());
        java.util.Set<Path> grown = new java.util.LinkedHashSet<>(); // directories that got a new entry here
        for (Path d : List.of(mailRoot, box.getParent(), box, dir, dir.resolve("tmp"), dir.resolve("new"), dir.resolve("cur"))) {
            try {
                Files.createDirectory(d, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(d)) {
                    throw e;
                }
                continue; // there already, or made by a concurrent delivery, which sets its mode
            }
            // the mode again without the umask, and the owner: on the directory itself, never through a link put in its place
            Files.getFileAttributeView(d, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setPermissions(DIRECTORY_MODE);
            ownership.apply(d);
            grown.add(d.getParent());
        }
        refuseLinks(theirs);
        // The new directories' own entries made durable too, before a copy in them is reported delivered: fsyncing
        // new/ alone keeps its file, not new/ itself, on a file system that does not order them (POSIX does not).
        for (Path parent : grown) {
            sync.sync(parent);
        }
        return dir;
    }

    /**
     * With files given away, the mailbox owner owns the mailbox's directories (and the domain's,
     * when mxd made it) and could put a symbolic link in place of one, leading mxd, as root, to
     * write and give away files anywhere; so none of them may be a link then. Postfix's local
     * avoids the question by writing as the recipient, which one JVM cannot do per delivery.
     */
    private void refuseLinks(List<Path> directories) throws IOException {
        if (!guardLinks) {
            return; // mxd writes as the mailbox owner, or as root into root's directories: nothing to gain by a link
        }
        for (Path d : directories) {
            if (Files.isSymbolicLink(d) && ((Number) Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue() == 0
                    && Files.isDirectory(d)) {
                continue; // root's own link (a domain on another disk, say): the operator's, not the mailbox owner's
            }
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                throw new java.nio.file.FileSystemException(d.toString(), null, "not a directory (a symbolic link not owned by"
                        + " root?): with delivery.maildir-owner set, mxd as root follows no link in a mailbox its owner could"
                        + " have made; make it a directory, or a link owned by root");
            }
        }
    }

    private static final int MAX_HOST_IN_NAME = 150;

    /** maildir(5): seconds, microseconds, process id and a counter make the name unique on this host. */
    private String uniqueName() {
        Instant now = clock.instant();
        return now.getEpochSecond() + ".M" + (now.getNano() / 1000) + "P" + pid + "Q" + deliveries.incrementAndGet() + "." + host;
    }
}
