package dev.mxd.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's bearer token: whoever can read its file may steer the queue. {@code mxd serve}
 * creates it at first start (256 random bits, mode 600) unless it exists; {@code mxd queue}
 * reads it from the same place, so the operator never types it. Like Docker's or PostgreSQL's
 * local sockets, the file's permissions are the access control.
 */
public final class AdminToken {

    private static final Logger LOG = LoggerFactory.getLogger(AdminToken.class);

    private final byte[] secret;

    private AdminToken(String text) {
        this.secret = text.getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads the token at {@code file}, creating it (mode 600) when it does not exist yet. */
    public static AdminToken loadOrCreate(Path file) throws IOException {
        if (Files.isRegularFile(file) && Files.size(file) == 0) {
            // mxd writes a token whole or not at all; an empty file is what an earlier version left on a full disk
            LOG.warn("admin token {} is empty; writing a new one", file);
            Files.delete(file);
        }
        if (!Files.exists(file)) {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            // Written beside it, fsynced, then linked into place: a full disk or a crash half-way left an empty token file,
            // which every later start refused ("must be one line"), so the node never started again.
            Path tmp = dir.resolve(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            try {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, Set.of(java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap((token + "\n").getBytes(StandardCharsets.US_ASCII));
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    ch.force(true);
                }
                Files.createLink(file, tmp); // fails if another process made the file just now: theirs is used
                LOG.info("admin token written to {} (mode 600)", file);
            } catch (FileAlreadyExistsException raced) {
                // another process made it just now: use theirs
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        AdminToken t = read(file);
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                LOG.warn("admin token {} is readable by other users ({}); chmod 600 it", file, PosixFilePermissions.toString(perms));
            }
        } catch (UnsupportedOperationException notPosix) {
            // nothing to check
        }
        return t;
    }

    /** Reads an existing token file (the client side). */
    public static AdminToken read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no admin token file (mxd serve writes it when it starts)");
        }
        if (text.isEmpty() || text.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IOException(file + ": the admin token must be one line of printable ASCII without spaces");
        }
        return new AdminToken(text);
    }

    /** The value for an {@code Authorization} header. */
    public String bearer() {
        return "Bearer " + new String(secret, StandardCharsets.US_ASCII);
    }

    /** Whether an {@code Authorization} header carries this token; compared in constant time. */
    public boolean accepts(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(given, secret);
    }
}
