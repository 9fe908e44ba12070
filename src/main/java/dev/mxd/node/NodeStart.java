package dev.mxd.node;

import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.Maildir;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.server.ServerCertificate;
import java.io.IOException;

/**
 * How starting a {@link ReceivingMx} went, sorted the way {@code mxd serve} reports it and
 * chooses its exit status: running, refused for good by its own configuration, or unable to
 * start now. The command line needs nothing of the SMTP server to tell them apart.
 */
public sealed interface NodeStart {

    /** The node runs; close it to stop. */
    record Running(ReceivingMx mx) implements NodeStart {}

    /**
     * A setting cannot be used on this machine: a configuration error that a restart does not
     * mend (a wrong TLS key, an unreadable certificate, a Maildir owner that does not exist or
     * that mxd, not running as root, cannot give files to, a source address this host does not have).
     *
     * @param reason what is wrong, in a sentence that starts with the setting
     */
    record UnusableSetting(String reason) implements NodeStart {}

    /** The node cannot listen or open its spool; a later start may succeed. */
    record Failed(IOException cause) implements NodeStart {}

    /**
     * What {@link #check} found: what a start would refuse (empty: a start would take it), and what it would warn of
     * (the configuration's own warnings, and the TLS certificate's, expired or a short RSA key, that a start logs).
     */
    record Checked(java.util.List<String> problems, java.util.List<String> warnings) {}

    /**
     * What a start would refuse of {@code config} on this machine, found without starting: the TLS
     * certificate and key, the Maildir owner and group, the source addresses, a data directory or
     * log file this user cannot write ({@code mxd serve --check}, as {@code postfix check}, run
     * before a reload or restart); and what it would warn of. The listeners' ports and the lock
     * are known only by binding and taking them. {@code file}: the configuration file, whose line a
     * refused certificate or key is named by.
     */
    public static Checked check(MxdConfig config, java.util.Optional<java.nio.file.Path> file) {
        java.util.List<String> problems = new java.util.ArrayList<>();
        java.util.List<String> warnings = new java.util.ArrayList<>(config.warnings());
        openFilesShort(config).ifPresent(warnings::add);
        config.tls().ifPresent(t -> {
            ServerCertificate.Loading loading = ServerCertificate.load(t, java.time.Instant.now());
            if (loading instanceof ServerCertificate.Refused r) {
                problems.add(file.map(f -> dev.mxd.config.ConfigLoader.whereTls(f, t, r.file()) + ": ").orElse("") + "tls: " + r.message());
            } else if (loading instanceof ServerCertificate.Loaded l) {
                l.warnings().forEach(w -> warnings.add("tls: " + w));
            }
        });
        try {
            Maildir.Ownership.of(config.delivery().maildirOwner(), config.delivery().maildirGroup());
            ClientSettings.checkSourceAddresses(config.delivery().sourceAddresses());
        } catch (IOException e) {
            problems.add(e.getMessage());
        }
        java.nio.file.Path data = config.dataDir().toAbsolutePath();
        // the directory, and what a start writes first in it (after one start as root, spool/ and the lock are root's)
        for (java.nio.file.Path p : java.util.List.of(data, data.resolve("mxd.lock"), data.resolve("spool"))) {
            unwritable(p).ifPresent(why -> problems.add("data-dir: " + why));
        }
        if (config.adminListener().isPresent()) {
            java.nio.file.Path token = config.adminToken().toAbsolutePath();
            if (java.nio.file.Files.exists(token) ? !java.nio.file.Files.isReadable(token) : unwritable(token).isPresent()) {
                problems.add("admin-token-file: " + token + " cannot be " + (java.nio.file.Files.exists(token) ? "read" : "made")
                        + " by " + user());
            }
        }
        config.log().file().ifPresent(f -> unwritable(f.toAbsolutePath()).ifPresent(why -> problems.add("log.file: " + why)));
        problems.addAll(unusableFiles(config));
        return new Checked(problems, warnings);
    }

    /**
     * What a start would read and refuse in the files the configuration names beyond TLS's own: a file where the data
     * directory or a directory in it belongs, a log.file that is a directory, the CA file delivery trusts, and the
     * admin token file. Said before anything starts, so that such a file is a setting (exit 78) and not a failure a
     * restart might mend (75, which systemd restarts every few seconds).
     */
    private static java.util.List<String> unusableFiles(MxdConfig config) {
        java.util.List<String> problems = new java.util.ArrayList<>();
        java.nio.file.Path data = config.dataDir().toAbsolutePath();
        for (java.nio.file.Path dir : java.util.List.of(data, data.resolve("spool"), data.resolve("mail"), data.resolve("quarantine"))) {
            if (java.nio.file.Files.exists(dir) && !java.nio.file.Files.isDirectory(dir)) {
                problems.add("data-dir: " + dir + " is a file where mxd keeps a directory; move it away");
            }
        }
        config.log().file().map(java.nio.file.Path::toAbsolutePath).filter(java.nio.file.Files::isDirectory).ifPresent(f ->
                problems.add("log.file: " + f + " is a directory; name a file in it, such as " + f.resolve("mxd.log")));
        java.util.Optional<java.nio.file.Path> ca = config.delivery().tls().caFile();
        if (ca.isPresent()) {
            try {
                dev.mxd.tls.WebPki.of(ca);
            } catch (IOException e) {
                problems.add("delivery.tls.ca-file: " + e.getMessage());
            }
        }
        if (config.adminListener().isPresent()) {
            java.nio.file.Path token = config.adminToken().toAbsolutePath();
            boolean loopback = config.adminListener().get().address().isLoopbackAddress();
            if (java.nio.file.Files.isDirectory(token)) {
                problems.add("admin-token-file: " + token + " is a directory; name a file (mxd writes it when it is not there)");
            } else if (java.nio.file.Files.isRegularFile(token) && java.nio.file.Files.isReadable(token)) {
                try {
                    if (java.nio.file.Files.size(token) > 0) {
                        dev.mxd.ops.AdminToken.read(token);
                    } else if (!loopback) { // an empty one is written anew at start: only on loopback is that allowed
                        problems.add(notMadeByTheOperator(config, token, "is empty"));
                    }
                } catch (IOException e) {
                    problems.add("admin-token-file: " + e.getMessage());
                }
            } else if (!loopback && !java.nio.file.Files.exists(token)) {
                problems.add(notMadeByTheOperator(config, token, "does not exist"));
            }
        }
        return problems;
    }

    /** An admin token file a start would make up, for a listener off loopback that needs one the operator made. */
    private static String notMadeByTheOperator(MxdConfig config, java.nio.file.Path token, String state) {
        return "admin-token-file: " + token + " " + state + "; listen.admin " + config.adminListener().get() + " is not"
                + " loopback, so the token must be one you made (one line of printable ASCII, mode 600; head -c 32"
                + " /dev/urandom | base64 > FILE), not one mxd makes up";
    }

    private static String user() {
        return System.getProperty("user.name", "this user");
    }

    /**
     * Why this user could not write {@code p}: the file or directory itself when it is there, else the
     * nearest directory above it that is (where it would be made); empty when it could.
     */
    private static java.util.Optional<String> unwritable(java.nio.file.Path p) {
        boolean exists = java.nio.file.Files.exists(p);
        java.nio.file.Path at = nearestExisting(p);
        if (!java.nio.file.Files.exists(at)) {
            return java.util.Optional.empty();
        }
        if (!exists && !java.nio.file.Files.isDirectory(at)) {
            return java.util.Optional.of(at + " is not a directory, where " + p + " would be made");
        }
        return java.nio.file.Files.isWritable(at) ? java.util.Optional.empty()
                : java.util.Optional.of(at + " cannot be written by " + user() + (exists ? "" : ", where " + p + " would be made"));
    }

    /** {@code p} if it exists, else the nearest directory above it that does (the root when none does). */
    private static java.nio.file.Path nearestExisting(java.nio.file.Path p) {
        java.nio.file.Path at = p;
        while (!java.nio.file.Files.exists(at) && at.getParent() != null) {
            at = at.getParent();
        }
        return at;
    }

    /**
     * The process of the {@code mxd serve} running on {@code dataDir}, as its lock file names it, when that process is
     * alive and a JVM; empty when none is. Read only: the lock is not taken (a server starting now must get it).
     */
    static java.util.Optional<Long> runningOn(java.nio.file.Path dataDir) {
        return DataDirLock.runningHolder(dataDir);
    }

    /**
     * The open-files limit of this process when it is below what the configuration may need at once: a socket and a
     * spilled text for each SMTP session, a socket, a text and a kept connection for each delivery, and a few hundred for
     * the JVM, the spool and the listeners. At the limit new clients are refused and deliveries fail with "too many open
     * files"; said at start, at reload and by {@code --check}, as what to raise.
     */
    static java.util.Optional<String> openFilesShort(MxdConfig config) {
        if (!(java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix)) {
            return java.util.Optional.empty();
        }
        long limit = unix.getMaxFileDescriptorCount();
        long need = 2L * config.limits().maxConnections() + 3L * config.delivery().concurrency() + 256;
        if (limit <= 0 || limit >= need) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("this process may open " + limit + " files at once, and limits.max-connections "
                + config.limits().maxConnections() + " with delivery.concurrency " + config.delivery().concurrency()
                + " may need some " + need + ": at the limit new clients are refused and deliveries fail; raise it (LimitNOFILE="
                + need + " in the systemd unit, ulimit -n " + need + " in a shell) or lower the two");
    }

    /** Starts a node on {@code config} ({@link ReceivingMx#start}) and says how that went. */
    static NodeStart attempt(MxdConfig config) {
        java.util.List<String> unusable = unusableFiles(config);
        if (!unusable.isEmpty()) {
            return new UnusableSetting(String.join("; ", unusable));
        }
        try {
            return new Running(ReceivingMx.start(config));
        } catch (ServerCertificate.UnusableException e) {
            return new UnusableSetting("tls: " + e.refused().message());
        } catch (Maildir.UnusableOwnership | ClientSettings.UnusableSourceAddress e) {
            return new UnusableSetting(e.getMessage());
        } catch (dev.mxd.queue.Spool.ForeignJournalFile e) {
            return new UnusableSetting("data-dir: " + e.getMessage());
        } catch (IOException e) {
            if (e instanceof java.nio.file.FileSystemException fs && denied(fs)) {
                // The data directory (or a file in it) is another user's, or immutable: a restart will not mend it, so it
                // is a setting (exit 78, which systemd does not restart every few seconds), said with what to do.
                return new UnusableSetting(deniedReason(config, fs));
            }
            return new Failed(e);
        }
    }

    /**
     * A start's failure in words: a file system error whose message is only its path (the JDK's for a file where a
     * directory must be) says what it is.
     */
    static String describe(IOException e) {
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null && fs.getOtherFile() == null) {
            String what = e instanceof java.nio.file.FileAlreadyExistsException ? "is there but is not what mxd needs there (a"
                    + " file where a directory belongs?)" : e instanceof java.nio.file.NoSuchFileException ? "does not exist"
                    : e instanceof java.nio.file.NotDirectoryException ? "is not a directory" : e.getClass().getSimpleName();
            return fs.getFile() + " " + what;
        }
        return e.getMessage();
    }

    private static boolean denied(java.nio.file.FileSystemException e) {
        return e instanceof java.nio.file.AccessDeniedException
                || e.getReason() != null && e.getReason().contains("Operation not permitted");
    }

    /** "FILE: permission denied (owner root, mode rw-r--r--); mxd runs as mxd: …". */
    static String deniedReason(MxdConfig config, java.nio.file.FileSystemException e) {
        String user = user();
        String file = e.getFile() == null ? config.dataDir().toString() : e.getFile();
        String reason = e instanceof java.nio.file.AccessDeniedException || e.getReason() == null ? "permission denied" : e.getReason();
        String about = "";
        java.nio.file.Path p = nearestExisting(java.nio.file.Path.of(file).toAbsolutePath());
        try {
            about = " (" + (p.toString().equals(file) ? "" : p + ": ") + "owner " + java.nio.file.Files.getOwner(p).getName()
                    + ", mode " + java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(p))
                    + ")";
        } catch (IOException | UnsupportedOperationException unknown) {
            // said without them
        }
        boolean inData = java.nio.file.Path.of(file).toAbsolutePath().startsWith(config.dataDir().toAbsolutePath());
        // a file outside the data directory: admin-token-file, say, in a directory mxd may not write
        String what = inData ? "give it the data directory (chown -R " + user + ": " + config.dataDir() + ") or run mxd as the"
                + " directory's owner" : "let it write the file (or make the file yourself, owned by " + user + ")";
        return (inData ? "data-dir: " : "") + file + ": " + reason + about + "; mxd runs as " + user + ": " + what
                + (reason.contains("not permitted") ? " (an immutable file? lsattr shows it)" : "");
    }
}
