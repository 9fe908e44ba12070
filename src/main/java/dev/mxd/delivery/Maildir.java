package dev.mxd.delivery;

import dev.mxd.queue.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Maildir delivery (the convention of qmail's maildir(5), which Dovecot reads): the file is
 * written in {@code tmp/} under a name unique to this host, process and delivery, fsynced,
 * then renamed into {@code new/}, and {@code new/} is fsynced. A reader never sees a partial
 * message, and a delivery the caller was told about survives a crash. A crash while the file is
 * in {@code tmp/} leaves it there, unseen by readers (which remove such files after 36 hours, as
 * maildir(5) says), and the spool delivers the message again whole; a crash after the rename and
 * before the spool records the delivery delivers it twice, never not at all.
 * Mailboxes live at {@code <mail-root>/<domain>/<mailbox>/Maildir}.
 */
public final class Maildir {

    private final Path mailRoot;
    private final String host;
    private final Clock clock;
    private final long pid = ProcessHandle.current().pid();
    private final AtomicLong deliveries = new AtomicLong();

    public Maildir(Path mailRoot, String hostname, Clock clock) {
        this.mailRoot = mailRoot;
        // maildir(5): "/" and ":" in the host name are written as \057 and \072.
        this.host = hostname.replace("/", "\\057").replace(":", "\\072");
        this.clock = clock;
    }

    /** The Maildir directory of a mailbox (domain and mailbox names were validated by the configuration). */
    public Path directory(String domain, String mailbox) {
        return mailRoot.resolve(domain).resolve(mailbox).resolve("Maildir");
    }

    /** Delivers {@code parts} (concatenated) as one message; returns the file in {@code new/}. */
    public Path deliver(String domain, String mailbox, byte[]... parts) throws IOException {
        Path dir = prepare(domain, mailbox);
        String name = uniqueName();
        Path target = dir.resolve("new").resolve(name);
        DurableFiles.write(dir.resolve("tmp").resolve(name), target, parts);
        return target;
    }

    /** Delivers {@code headers} followed by the first {@code length} octets of the file {@code text}, streamed; returns the file in {@code new/}. */
    public Path deliver(String domain, String mailbox, byte[] headers, Path text, long length) throws IOException {
        Path dir = prepare(domain, mailbox);
        String name = uniqueName();
        Path target = dir.resolve("new").resolve(name);
        DurableFiles.write(dir.resolve("tmp").resolve(name), target, headers, text, length);
        return target;
    }

    private Path prepare(String domain, String mailbox) throws IOException {
        Path dir = directory(domain, mailbox);
        Files.createDirectories(dir.resolve("tmp"));
        Files.createDirectories(dir.resolve("new"));
        Files.createDirectories(dir.resolve("cur"));
        return dir;
    }

    /** maildir(5): seconds, microseconds, process id and a counter make the name unique on this host. */
    private String uniqueName() {
        Instant now = clock.instant();
        return now.getEpochSecond() + ".M" + (now.getNano() / 1000) + "P" + pid + "Q" + deliveries.incrementAndGet() + "." + host;
    }
}
