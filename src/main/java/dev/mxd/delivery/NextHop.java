package dev.mxd.delivery;

import java.net.InetAddress;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Where the remote agent sends one destination's mail when it is not the destination's own MX
 * hosts: a relay host (Postfix's relayhost, or a transport_maps entry). Either a domain whose MX
 * records are looked up, or one host taken as it is: its A/AAAA records, or an IP address.
 */
public sealed interface NextHop {

    /** The SMTP port when one was written; otherwise the agent's (delivery.port). */
    OptionalInt port();

    /** A domain resolved by MX, as if it were the recipients' domain ({@code relay.example} or {@code relay.example:587}). */
    record ByMx(String domain, OptionalInt port) implements NextHop {
        @Override
        public String toString() {
            return domain + port.stream().mapToObj(p -> ":" + p).findFirst().orElse("");
        }
    }

    /** One host, no MX lookup ({@code [relay.example]:587}, {@code [192.0.2.1]}): a name, or an IP address when {@code literal} is set. */
    record Host(String host, Optional<InetAddress> literal, OptionalInt port) implements NextHop {
        @Override
        public String toString() {
            return "[" + host + "]" + port.stream().mapToObj(p -> ":" + p).findFirst().orElse("");
        }
    }

    /** Chooses the next hop of a destination domain; empty: its own MX hosts. */
    @FunctionalInterface
    interface Routing {

        /** Every destination by its own MX hosts. */
        Routing BY_MX = domain -> Optional.empty();

        Optional<NextHop> nextHop(String domain);
    }
}
