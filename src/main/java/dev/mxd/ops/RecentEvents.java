package dev.mxd.ops;

import dev.mxd.queue.DeliveryEvent;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last deliveries and failures, in memory for the status page: a ring of the last
 * {@code capacity} events, and when each MX host last took mail (bounded too), so the page can
 * show hosts that are up beside those the host status table postpones. Lost at a restart, which
 * is fine: the log is the record.
 */
public final class RecentEvents {

    /** A host that answered a delivery, and when it last did. */
    public record HostSeen(String relay, Instant lastAccepted, String queueId) {}

    private final int capacity;
    private final ArrayDeque<DeliveryEvent> events;
    private final Map<String, HostSeen> hosts;

    public RecentEvents(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.capacity = capacity;
        this.events = new ArrayDeque<>(capacity);
        this.hosts = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, HostSeen> eldest) {
                return size() > capacity;
            }
        };
    }

    /** Records one outcome (a {@link dev.mxd.queue.DeliveryListener}). */
    public synchronized void add(DeliveryEvent e) {
        if (events.size() == capacity) {
            events.removeFirst();
        }
        events.addLast(e);
        // it took the message: up, with when. Not a bounce: a 5xx, or the last 4xx of a message that expired, names the
        // host that refused it, which would show an MX that deferred everything for days as up, "last accepted" at the expiry.
        if (e.outcome() == DeliveryEvent.Outcome.SENT && e.destination().remote() && !e.relay().equals("none")) {
            hosts.put(e.relay(), new HostSeen(e.relay(), e.at(), e.queueId()));
        }
    }

    /** The events, newest first. */
    public synchronized List<DeliveryEvent> newestFirst() {
        List<DeliveryEvent> out = new ArrayList<>(events);
        Collections.reverse(out);
        return out;
    }

    /** Hosts that answered recently, most recent first. */
    public synchronized List<HostSeen> hostsSeen() {
        List<HostSeen> out = new ArrayList<>(hosts.values());
        Collections.reverse(out);
        return out;
    }
}
