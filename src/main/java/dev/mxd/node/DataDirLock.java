package dev.mxd.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One node per data directory, as Postfix's master(8) holds {@code master.lock}: an exclusive lock
 * on {@code DATA-DIR/mxd.lock}, taken before the spool is opened and held while the node runs. A
 * second {@code mxd serve} on the same directory would otherwise run its recovery on the live spool
 * (moving messages being delivered back to incoming/, deleting the journal being written, the text
 * of messages still arriving) and deliver them a second time before it failed to bind its port.
 * The kernel drops the lock when the process ends however it ends, so a crash leaves nothing to clean.
 * Commands that work on a data directory beside a running server ({@code mxd queue}, {@code mxd
 * quarantine}) do not take it.
 */
final class DataDirLock implements AutoCloseable {

    static final String FILE = "mxd.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock, or says which process holds it. */
    static DataDirLock acquire(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        Path file = dataDir.resolve(FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException heldInThisProcess) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(file);
            channel.close();
            throw new IOException("another mxd serve is running on the data directory " + dataDir.toAbsolutePath()
                    + (holder.isEmpty() ? "" : " (process " + holder + ")") + ", holding " + file
                    + "; stop it first, or give this one a data-dir of its own");
        }
        DataDirLock held = new DataDirLock(channel, lock);
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        } catch (IOException | RuntimeException e) {
            held.close(); // a full disk: not held, or a later start in this process would think another node runs
            throw e;
        }
        return held;
    }

    /**
     * The process that holds the lock of {@code dataDir} now, read from the kernel's table of locks ({@code
     * /proc/locks}: the lock file's device and inode), without taking the lock, and whatever user the process runs as;
     * empty when none holds it or the table cannot be read (not Linux). The pid written in the file is not trusted: a
     * stopped server leaves its pid there, which another process may have by now.
     */
    static java.util.Optional<Long> runningHolder(Path dataDir) {
        try {
            Path file = dataDir.resolve(FILE);
            long inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
            long dev = ((Number) Files.getAttribute(file, "unix:dev")).longValue();
            // /proc/locks writes the device as major:minor in hex (glibc's encoding of st_dev), the inode in decimal
            long major = (dev >>> 8) & 0xfff | (dev >>> 32) & ~0xfffL;
            long minor = dev & 0xff | (dev >>> 12) & ~0xffL;
            String where = String.format("%02x:%02x:%d", major, minor, inode);
            for (String line : Files.readAllLines(Path.of("/proc/locks"), StandardCharsets.US_ASCII)) {
                String[] f = line.trim().split("\\s+");
                // "1: POSIX  ADVISORY  WRITE 27044 fe:00:2181736 0 EOF"; a waiter's line has "->" after the number
                if (f.length >= 6 && !f[1].equals("->") && f[5].equals(where)) {
                    return java.util.Optional.of(Long.parseLong(f[4]));
                }
            }
            return java.util.Optional.empty();
        } catch (IOException | RuntimeException unknown) { // no such file, no unix view, no /proc: nothing to say
            return java.util.Optional.empty();
        }
    }

    private static String holder(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException | RuntimeException unreadable) {
            return "";
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel below releases it too
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do: the process's end releases it
        }
    }
}
