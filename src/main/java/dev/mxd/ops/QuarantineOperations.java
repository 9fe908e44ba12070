package dev.mxd.ops;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.config.MxdConfig;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.queue.Spool;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * What an operator can do with the quarantine, in one place: list, show, release and delete.
 * The offline {@code mxd quarantine} command (on a data directory, or on the data directory of a
 * configuration without an admin listener) and the admin API both call this; {@code mxd quarantine
 * --config} of a server with an admin listener reaches it through that API.
 *
 * <p>Listing, showing and deleting are the same everywhere. A release depends on where it runs,
 * which is the one thing the three ways of making one decide:
 * <ul>
 *   <li>{@link #inServer}: in the running server's own process, queued and handed to the queue
 *       manager at once;</li>
 *   <li>{@link #beside}: from another process with the server's configuration to route by, queued
 *       due now in {@code deferred/}, where a running server finds it at its next scan;</li>
 *   <li>{@link #onDataDir}: with no configuration to route by, the entry moves to
 *       {@code released/} and the next server start injects it.</li>
 * </ul>
 */
public final class QuarantineOperations {

    /** How a release reaches the spool, for one of the three places an operation runs. */
    @FunctionalInterface
    private interface Releaser {
        QuarantineRelease.Outcome release(String id) throws IOException;
    }

    /** An entry to show: its metadata and its message text. */
    public record Shown(QuarantineEntry entry, Path text) {}

    private final Quarantine quarantine;
    private final Releaser releaser;
    private final Optional<QuarantineRelease> server;

    private QuarantineOperations(Quarantine quarantine, Releaser releaser, Optional<QuarantineRelease> server) {
        this.quarantine = quarantine;
        this.releaser = releaser;
        this.server = server;
    }

    /** In the server's own process: a release is handed to its queue manager at once. */
    public static QuarantineOperations inServer(Quarantine quarantine, Spool spool, RecipientPolicy policy, Clock clock) {
        QuarantineRelease release = new QuarantineRelease(quarantine, spool, policy, clock, QuarantineRelease.HandOver.LISTENER);
        return new QuarantineOperations(quarantine, release::release, Optional.of(release));
    }

    /**
     * From another process, routed by {@code config}'s domains: a release goes into that
     * configuration's spool (attached when the release is made, never recovered) due now.
     */
    public static QuarantineOperations beside(MxdConfig config, Clock clock) {
        Quarantine quarantine = new Quarantine(config.dataDir());
        return new QuarantineOperations(quarantine, id -> {
            Spool spool = Spool.attach(config.dataDir().resolve("spool"), config.hostname(), clock);
            try (java.io.Closeable held = spool.holdAgainstRecovery()) { // a server starting meanwhile waits for the release
                return new QuarantineRelease(quarantine, spool, new DomainPolicy(config), clock,
                        QuarantineRelease.HandOver.DEFERRED_NOW).release(id);
            }
        }, Optional.empty());
    }

    /** On a data directory alone: a released entry waits in {@code released/} for the next server start. */
    public static QuarantineOperations onDataDir(Path dataDir) {
        Quarantine quarantine = new Quarantine(dataDir);
        return new QuarantineOperations(quarantine, id -> park(quarantine, id), Optional.empty());
    }

    /** The quarantine's directory, for messages that say where something went wrong. */
    public Path directory() {
        return quarantine.directory();
    }

    /** Entries newest first, {@code limit} from {@code offset}, and how many there are in all. */
    public Quarantine.Page list(int offset, int limit) throws IOException {
        return quarantine.list(offset, limit);
    }

    /** The entry with this id and its message text, if it is in the quarantine. */
    public Optional<Shown> show(String id) throws IOException {
        Optional<QuarantineEntry> entry = quarantine.find(id);
        return entry.map(e -> new Shown(e, quarantine.messageFile(id)));
    }

    /** Delivers an entry to its original recipients, as the place this runs in allows (see the class comment). */
    public QuarantineRelease.Outcome release(String id) throws IOException {
        return releaser.release(id);
    }

    /** Deletes an entry for good; false if there was none. */
    public boolean delete(String id) throws IOException {
        return quarantine.delete(id);
    }

    /**
     * In the server's process, at start: injects the releases a crash interrupted or that were
     * made on the data directory while the server was down. Elsewhere there is nothing to resume.
     */
    public void resumePending() {
        server.ifPresent(QuarantineRelease::resumePending);
    }

    /**
     * A page as JSON, as the admin API sends it and {@code mxd quarantine list --json} prints it:
     * {"total", "offset", "entries": [each entry's stored metadata], "unreadable": ["ID: why", ...]}.
     */
    public static ObjectNode pageJson(List<QuarantineEntry> entries, int total, int offset, List<String> unreadable) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("total", total);
        root.put("offset", offset);
        ArrayNode list = root.putArray("entries");
        entries.forEach(e -> list.add(e.toJson()));
        ArrayNode bad = root.putArray("unreadable");
        unreadable.forEach(bad::add);
        return root;
    }

    /**
     * Moves an entry to {@code released/} under the quarantine's lock (a running server may be
     * releasing it too); a half-moved entry found there is a crash's, and its move is finished
     * rather than answered with "no entry".
     */
    private static QuarantineRelease.Outcome park(Quarantine quarantine, String id) throws IOException {
        Optional<Quarantine.Released> r;
        try (Quarantine.Lock held = quarantine.lock()) {
            r = quarantine.pendingReleases().stream().filter(p -> p.entry().id().equals(id)).findFirst();
            if (r.isEmpty()) {
                r = quarantine.release(id);
            }
        }
        return r.<QuarantineRelease.Outcome>map(p -> new QuarantineRelease.Outcome.Parked(p.entry(), p.messageFile()))
                .orElseGet(QuarantineRelease.Outcome.NotFound::new);
    }
}
