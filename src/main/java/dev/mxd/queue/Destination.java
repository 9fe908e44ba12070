package dev.mxd.queue;

import dev.mxd.mail.Route;
import java.util.List;

/**
 * Where a group of a message's recipients is delivered, and so which agent takes them and
 * whose per-destination slots they use: the local mailboxes, or one remote domain by MX.
 * {@link #toString()} is the name logs, the queue listing and flush messages show.
 */
public sealed interface Destination {

    /** The destination of a recipient's route. */
    static Destination of(Route route) {
        return route instanceof Route.Relay relay ? new Domain(relay.domain()) : LOCAL;
    }

    /** The destination without its next hop: which mail it is, whatever the configuration relays it through. */
    default Destination withoutNextHop() {
        return this instanceof Domain d && d.via().isPresent() ? new Domain(d.name()) : this;
    }

    /**
     * What its per-destination slots are counted by: the next hop all its mail goes to when that is not the
     * domain's own MX hosts (a relay host or route, shared by every domain sent there, as Postfix's queue manager
     * counts concurrency per next hop), else the destination itself.
     */
    default Object slotKey() {
        return this instanceof Domain d && d.via().isPresent() ? "via " + d.via().get() : this;
    }

    /** The local mailboxes (Maildir). */
    Local LOCAL = new Local();

    /** Every {@link #transport()} label, for metrics that exist from the start. */
    List<String> TRANSPORTS = List.of("local", "smtp");

    /** The metrics and log label of the agent that serves it: {@code local} or {@code smtp}. */
    String transport();

    /** Delivered by MX to another host ({@code smtp}), not to a mailbox here. */
    default boolean remote() {
        return this instanceof Domain;
    }

    /** Local mailboxes: shown as "local". */
    record Local() implements Destination {
        @Override
        public String transport() {
            return TRANSPORTS.get(0);
        }

        @Override
        public String toString() {
            return "local";
        }
    }

    /**
     * A remote domain, delivered to its mail exchangers, or through {@code via} (a relay host or route, as the
     * configuration named it when the group was made) when one is set.
     */
    record Domain(String name, java.util.Optional<String> via) implements Destination {

        public Domain(String name) {
            this(name, java.util.Optional.empty());
        }

        @Override
        public String transport() {
            return TRANSPORTS.get(1);
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
