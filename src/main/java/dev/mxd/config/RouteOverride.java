package dev.mxd.config;

/**
 * Where {@code delivery.routes} sends one destination's mail instead of its MX hosts (Postfix's
 * transport_maps): to a relay host, or to the local mailboxes.
 */
public sealed interface RouteOverride {

    /** The word that means "deliver here" in {@code delivery.routes}. */
    String LOCAL_WORD = "local";

    /** Reads a route's value: {@code local}, or a relay host in the grammar of {@link RelayHost}. */
    static RouteOverride parse(String text) {
        if (text != null && text.strip().equalsIgnoreCase(LOCAL_WORD)) {
            return new Local();
        }
        return new Relay(RelayHost.parse(text));
    }

    /** To this next hop, by MX when {@code relay.mxLookup()}. */
    record Relay(RelayHost relay) implements RouteOverride {
        @Override
        public String toString() {
            return relay.toString();
        }
    }

    /** To the domain's mailboxes here, as if its role were local. */
    record Local() implements RouteOverride {
        @Override
        public String toString() {
            return LOCAL_WORD;
        }
    }
}
