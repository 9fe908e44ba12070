package dev.mxd.delivery;

import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides which addresses one delivery attempt tries, in order: the MX plan's hosts by
 * preference, each host's addresses in order, at most {@code maxAddresses} of them
 * (Postfix smtp_mx_address_limit). Addresses the {@link HostStatusTable} postpones are left
 * out until their retry time, so a dead host does not cost every message a timeout.
 */
public final class RouteSelector {

    /** The routes to try now, and those held back with their status. */
    public record Selection(List<MxRoute> routes, List<HostStatusTable.Status> postponed) {
        public Selection {
            routes = List.copyOf(routes);
            postponed = List.copyOf(postponed);
        }
    }

    private final HostStatusTable hostStatus;
    private final int maxAddresses;
    private final int port;

    public RouteSelector(HostStatusTable hostStatus, int maxAddresses, int port) {
        if (maxAddresses < 1) {
            throw new IllegalArgumentException("max-addresses must be at least 1");
        }
        this.hostStatus = hostStatus;
        this.maxAddresses = maxAddresses;
        this.port = port;
    }

    public Selection select(MxOutcome.Routes plan) {
        List<MxRoute> routes = new ArrayList<>();
        List<HostStatusTable.Status> postponed = new ArrayList<>();
        for (MxHost host : plan.hosts()) {
            for (InetAddress address : host.addresses()) {
                MxRoute route = new MxRoute(host.name(), host.preference(), address, port);
                if (hostStatus.isPostponed(route)) {
                    hostStatus.status(route).ifPresent(postponed::add);
                } else if (routes.size() < maxAddresses) {
                    routes.add(route);
                }
            }
        }
        return new Selection(routes, postponed);
    }
}
