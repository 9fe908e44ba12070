package dev.mxd.ops;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.queue.DeliveryEvent;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.Mailbox;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The queue as JSON for the admin API (docs/operations.md): pages of messages, one message,
 * the queue by destination, hosts and recent events. A page lists ids from the state
 * directories (ids sort by arrival) and reads only that page's envelopes, so looking at a
 * queue of a million messages costs directory listings, not a million file reads.
 */
public final class QueueView {

    /** Envelopes read at most for the by-destination summary; past that it says it is partial. */
    static final int SUMMARY_LIMIT = 10_000;

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final List<QueueState> ORDER = List.of(QueueState.ACTIVE, QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD);

    private final Spool spool;
    private final HostStatusTable hosts;
    private final RecentEvents recent;
    private final Clock clock;

    /** Queues of at least this many messages are listed at most once per {@link #SNAPSHOT_FOR}. */
    static final int SNAPSHOT_FROM = 10_000;
    /** How long the listing of a large queue is reused: paging through it costs a page each, not a listing. */
    static final Duration SNAPSHOT_FOR = Duration.ofSeconds(10);

    private final int snapshotFrom;
    private Listing snapshot; // the last listing of a large queue, and when it was made
    private Instant snapshotAt = Instant.MIN;

    public QueueView(Spool spool, HostStatusTable hosts, RecentEvents recent, Clock clock) {
        this(spool, hosts, recent, clock, SNAPSHOT_FROM);
    }

    QueueView(Spool spool, HostStatusTable hosts, RecentEvents recent, Clock clock, int snapshotFrom) {
        this.spool = spool;
        this.hosts = hosts;
        this.recent = recent;
        this.clock = clock;
        this.snapshotFrom = snapshotFrom;
    }

    /**
     * The queue's ids. A large queue's listing (a million ids take about 1.5 s to list and sort)
     * is reused for {@link #SNAPSHOT_FOR}; each message on a page is still read as it is now, and
     * one delivered meanwhile is left out of the page.
     */
    private synchronized Listing listing() throws IOException {
        Instant now = clock.instant();
        if (snapshot != null && now.isBefore(snapshotAt.plus(SNAPSHOT_FOR)) && !now.isBefore(snapshotAt)) {
            return snapshot;
        }
        Listing l = new Listing();
        snapshot = l.total() >= snapshotFrom ? l : null;
        snapshotAt = now;
        return l;
    }

    /** A message id and the state directory it was listed in. */
    private record Listed(String id, QueueState state) {}

    /** Looks at one listed message; false to stop. */
    @FunctionalInterface
    private interface Visitor {
        boolean visit(Listed l) throws IOException;
    }

    /** Messages oldest first, {@code limit} from {@code offset}, with the total and the count per state. */
    public ObjectNode page(int offset, int limit) throws IOException {
        if (offset < 0 || limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("offset must be 0 or more and limit from 1 to 1000 (got offset " + offset + ", limit " + limit + ")");
        }
        Listing all = listing();
        ObjectNode root = JSON.objectNode();
        root.put("total", all.total());
        root.put("offset", offset);
        root.put("limit", limit);
        root.set("states", all.counts());
        ArrayNode items = root.putArray("messages");
        all.forEach(offset, limit, l -> {
            message(l.id()).ifPresent(items::add); // delivered or deleted since the listing: skipped
            return true;
        });
        return root;
    }

    /** One message, if it is in the spool. */
    public Optional<ObjectNode> message(String id) throws IOException {
        for (int tries = 0; tries < 3; tries++) { // it may move between states while we look: look again
            Optional<QueueState> state = spool.state(id);
            if (state.isEmpty()) {
                return Optional.empty();
            }
            try {
                Envelope e;
                try {
                    e = spool.envelope(state.get(), id);
                } catch (NoSuchFileException moved) {
                    throw moved;
                } catch (IOException | RuntimeException unreadable) {
                    return Optional.of(unreadable(id, state.get(), unreadable)); // one bad file does not hide the queue
                }
                return Optional.of(toJson(e, state.get(), nextAttempt(id, state.get())));
            } catch (NoSuchFileException moved) {
                // try again
            }
        }
        return Optional.empty();
    }

    private Optional<Instant> nextAttempt(String id, QueueState state) throws IOException {
        if (state == QueueState.DEFERRED) {
            return Optional.of(spool.nextAttempt(id));
        }
        return state == QueueState.INCOMING ? Optional.of(clock.instant()) : Optional.empty();
    }

    /**
     * A message whose envelope cannot be read (cut short, not JSON): what is known of it without
     * the envelope (its id, state, arrival from the id, next attempt from the file time), sender
     * and size unknown (null), and why in {@code envelope_error}.
     */
    private ObjectNode unreadable(String id, QueueState state, Exception why) throws NoSuchFileException {
        ObjectNode o = JSON.objectNode();
        o.put("id", id);
        o.put("state", state.directory());
        Spool.arrivalOf(id).ifPresent(a -> {
            o.put("arrival", a.toString());
            o.put("age_seconds", Math.max(0, Duration.between(a, clock.instant()).toSeconds()));
        });
        o.putNull("size");
        o.putNull("sender");
        try {
            Optional<Instant> next = nextAttempt(id, state);
            if (next.isPresent()) {
                o.put("next_attempt", stamp(next.get()));
            } else {
                o.putNull("next_attempt");
            }
        } catch (NoSuchFileException moved) {
            throw moved;
        } catch (IOException unknown) {
            o.putNull("next_attempt");
        }
        o.putArray("recipients");
        o.put("envelope_error", "the envelope cannot be read: " + dev.mxd.smtp.LogText.safe(why.toString()));
        return o;
    }

    /** A next attempt as the API gives it: to the millisecond (a file's time has nanoseconds nobody schedules by). */
    private static String stamp(Instant next) {
        return next.truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    }

    private ObjectNode toJson(Envelope e, QueueState state, Optional<Instant> next) {
        ObjectNode o = JSON.objectNode();
        o.put("id", e.id());
        o.put("state", state.directory());
        o.put("arrival", e.arrival().toString());
        o.put("age_seconds", Math.max(0, Duration.between(e.arrival(), clock.instant()).toSeconds()));
        o.put("size", e.size());
        o.put("sender", e.sender().map(Mailbox::toString).orElse(""));
        if (e.parameters().requireTls()) {
            o.put("requiretls", true); // RFC 8689: delivered only to a host authenticated by DANE or MTA-STS
        }
        if (next.isPresent()) {
            o.put("next_attempt", stamp(next.get()));
        } else {
            o.putNull("next_attempt");
        }
        ArrayNode rs = o.putArray("recipients");
        for (RecipientStatus r : e.recipients()) {
            ObjectNode j = rs.addObject();
            j.put("address", r.recipient().address().toString());
            j.put("destination", destination(r));
            j.put("state", r.state().name().toLowerCase(java.util.Locale.ROOT));
            j.put("last_reply", r.detail());
            r.status().ifPresent(s -> j.put("dsn", s.toString()));
            r.remoteMta().ifPresent(m -> j.put("relay", m));
            j.put("updated", r.updated().toString());
        }
        return o;
    }

    private static String destination(RecipientStatus r) {
        return dev.mxd.queue.Destination.of(r.recipient().route()).toString(); // "local", or the domain
    }

    /**
     * The queue by destination (Postfix's qshape, roughly): for each destination, messages and
     * recipients not yet done, how many are deferred, the oldest arrival and the last reply.
     */
    public ObjectNode destinations() throws IOException {
        Listing all = listing();
        Map<String, Destination> by = new TreeMap<>();
        int[] read = {0};
        all.forEach(0, all.total(), l -> {
            Envelope e;
            try {
                e = spool.envelope(l.state(), l.id());
            } catch (NoSuchFileException moved) {
                return true;
            } catch (IOException | RuntimeException unreadable) {
                return true; // no recipients to count; the message's page entry says why
            }
            read[0]++;
            Map<String, Boolean> seen = new LinkedHashMap<>();
            for (RecipientStatus r : e.recipients()) {
                if (r.state().done()) {
                    continue;
                }
                Destination d = by.computeIfAbsent(destination(r), Destination::new);
                d.recipients++;
                // each recipient in one column at most, as the states above count each message once: held mail is held,
                // whatever its recipients' last attempt said (it counted as deferred and held, more than the queue held)
                if (l.state() == QueueState.HOLD) {
                    d.held++;
                } else if (l.state() == QueueState.DEFERRED || r.state() == dev.mxd.queue.DeliveryState.DEFERRED) {
                    d.deferred++;
                }
                if (seen.put(d.name, true) == null) {
                    d.messages++;
                }
                if (d.oldest == null || e.arrival().isBefore(d.oldest)) {
                    d.oldest = e.arrival();
                }
                if (!r.detail().isEmpty() && (d.lastUpdate == null || r.updated().isAfter(d.lastUpdate))) {
                    d.lastUpdate = r.updated();
                    d.lastReply = r.detail();
                }
            }
            return read[0] < SUMMARY_LIMIT;
        });
        ObjectNode root = JSON.objectNode();
        root.put("total", all.total());
        root.put("complete", read[0] == all.total() || all.total() <= SUMMARY_LIMIT);
        root.set("states", all.counts());
        ArrayNode list = root.putArray("destinations");
        by.values().stream().sorted(Comparator.comparingInt((Destination d) -> -d.recipients).thenComparing(d -> d.name))
                .forEach(d -> {
                    ObjectNode j = list.addObject();
                    j.put("destination", d.name);
                    j.put("messages", d.messages);
                    j.put("recipients", d.recipients);
                    j.put("deferred", d.deferred);
                    j.put("held", d.held);
                    j.put("oldest", d.oldest.toString());
                    j.put("oldest_age_seconds", Math.max(0, Duration.between(d.oldest, clock.instant()).toSeconds()));
                    j.put("last_reply", d.lastReply);
                });
        return root;
    }

    /** One destination's tally, filled while reading envelopes. */
    private static final class Destination {
        final String name;
        int messages;
        int recipients;
        int deferred;
        int held;
        Instant oldest;
        Instant lastUpdate;
        String lastReply = "";

        Destination(String name) {
            this.name = name;
        }
    }

    /**
     * MX hosts: those the host status table postpones (or remembers as failed, retry due) and
     * those that took mail recently. {@code state} is {@code postponed}, {@code retry-due} or {@code up}.
     */
    public ObjectNode hosts() {
        Instant now = clock.instant();
        ObjectNode root = JSON.objectNode();
        ArrayNode list = root.putArray("hosts");
        java.util.Set<String> listed = new java.util.HashSet<>();
        for (HostStatusTable.Status s : hosts.snapshot()) {
            ObjectNode j = list.addObject();
            String relay = s.host() + "[" + dev.mxd.smtp.AddressText.of(s.address().getAddress()) + "]:" + s.address().getPort();
            listed.add(relay);
            j.put("host", s.host());
            j.put("address", relay);
            j.put("state", s.postponedAt(now) ? "postponed" : "retry-due");
            j.put("failures", s.failures());
            j.put("last_error", s.lastError());
            j.put("failed_at", s.failedAt().toString());
            j.put("retry_at", s.retryAt().toString());
        }
        for (RecentEvents.HostSeen h : recent.hostsSeen()) {
            if (listed.add(h.relay())) {
                ObjectNode j = list.addObject();
                j.put("host", h.relay().substring(0, Math.max(0, h.relay().indexOf('['))));
                j.put("address", h.relay());
                j.put("state", "up");
                j.put("last_accepted", h.lastAccepted().toString());
                j.put("last_queue_id", h.queueId());
            }
        }
        return root;
    }

    /** The host status table the hosts view reads (the admin API's host reset forgets from it). */
    HostStatusTable hostStatus() {
        return hosts;
    }

    /** The recent delivery events, newest first. */
    public ObjectNode events() {
        ObjectNode root = JSON.objectNode();
        ArrayNode list = root.putArray("events");
        for (DeliveryEvent e : recent.newestFirst()) {
            ObjectNode j = list.addObject();
            j.put("at", e.at().toString());
            j.put("id", e.queueId());
            j.put("to", e.recipient());
            j.put("relay", e.relay());
            j.put("status", e.outcome().word());
            j.put("dsn", e.dsn());
            j.put("delay_seconds", e.delay().toMillis() / 1000.0);
            j.put("detail", e.detail());
        }
        return root;
    }

    /**
     * Every queued id, per state, each array sorted (ids sort by arrival): one directory listing
     * per state and no object per message, so a queue of a million costs a few arrays of strings.
     */
    private final class Listing {
        private final Map<QueueState, List<String>> ids = new java.util.EnumMap<>(QueueState.class);

        Listing() throws IOException {
            for (QueueState s : ORDER) {
                ids.put(s, spool.ids(s));
            }
        }

        int total() {
            return ids.values().stream().mapToInt(List::size).sum();
        }

        ObjectNode counts() {
            ObjectNode o = JSON.objectNode();
            for (QueueState s : ORDER) {
                o.put(s.directory(), ids.get(s).size());
            }
            return o;
        }

        /** Calls {@code each} with up to {@code limit} messages from {@code offset}, oldest first (a merge of the sorted states). */
        void forEach(int offset, int limit, Visitor each) throws IOException {
            int[] at = new int[ORDER.size()];
            for (long seen = 0; seen < (long) offset + limit; seen++) {
                int best = -1;
                for (int k = 0; k < ORDER.size(); k++) {
                    List<String> l = ids.get(ORDER.get(k));
                    if (at[k] < l.size() && (best < 0 || l.get(at[k]).compareTo(ids.get(ORDER.get(best)).get(at[best])) < 0)) {
                        best = k;
                    }
                }
                if (best < 0) {
                    return;
                }
                String id = ids.get(ORDER.get(best)).get(at[best]++);
                if (seen >= offset && !each.visit(new Listed(id, ORDER.get(best)))) {
                    return;
                }
            }
        }
    }
}
