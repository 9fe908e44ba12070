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

    /** A remote domain, delivered to its mail exchangers. */
    record Domain(String name) implements Destination {
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
