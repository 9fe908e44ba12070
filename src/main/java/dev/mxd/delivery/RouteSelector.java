package dev.mxd.delivery;

import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides which addresses one delivery attempt tries, in order: the MX plan's hosts by
 * preference, each host's addresses in order, at most {@code maxAddresses} of them
 * (Postfix smtp_mx_address_limit). An address the {@link HostStatusTable} postpones is
 * passed over until its retry time, so a dead host does not cost every message a timeout;
 * then one delivery at a time probes it in its place. Postponed addresses are tried last,
 * as OkHttp's RouteSelector tries postponed routes: when every other address has failed in
 * this attempt, and still one delivery at a time.
 */
public final class RouteSelector {

    /**
     * @param routes     to try now, in order: healthy addresses, and those this delivery probes
     * @param probes     the routes this delivery holds the probe lease for: end each with
     *                   {@link HostStatusTable#endProbe} however the attempt ends
     * @param lastResort postponed addresses to try after every route has failed, each only if
     *                   {@link HostStatusTable#admit} lets this delivery probe it then
     * @param postponed  what is known about every address passed over
     */
    public record Selection(List<MxRoute> routes, List<MxRoute> probes, List<MxRoute> lastResort,
                            List<HostStatusTable.Status> postponed) {
        public Selection {
            routes = List.copyOf(routes);
            probes = List.copyOf(probes);
            lastResort = List.copyOf(lastResort);
            postponed = List.copyOf(postponed);
        }
    }

    private final HostStatusTable hostStatus;
    private final int maxAddresses;
    private final int port;

    /** The SMTP port of MX hosts (delivery.port). */
    public int port() {
        return port;
    }

    public RouteSelector(HostStatusTable hostStatus, int maxAddresses, int port) {
        if (maxAddresses < 1) {
            throw new IllegalArgumentException("max-addresses must be at least 1");
        }
        this.hostStatus = hostStatus;
        this.maxAddresses = maxAddresses;
        this.port = port;
    }

    public Selection select(MxOutcome.Routes plan) {
        return select(plan, port);
    }

    /** {@link #select(MxOutcome.Routes)} with the hosts' SMTP port given (a relay host written with its port). */
    public Selection select(MxOutcome.Routes plan, int port) {
        List<MxRoute> routes = new ArrayList<>();
        List<MxRoute> probes = new ArrayList<>();
        List<MxRoute> passedOver = new ArrayList<>();
        List<HostStatusTable.Status> postponed = new ArrayList<>();
        for (MxRoute route : balanced(all(plan, port))) {
            if (routes.size() >= maxAddresses) {
                break;
            }
            switch (hostStatus.admit(route, false)) {
                case HEALTHY -> routes.add(route);
                case PROBE -> {
                    routes.add(route);
                    probes.add(route);
                }
                case POSTPONED -> {
                    passedOver.add(route);
                    hostStatus.status(route).ifPresent(postponed::add);
                }
            }
        }
        int room = maxAddresses - routes.size();
        return new Selection(routes, probes, passedOver.subList(0, Math.min(room, passedOver.size())), postponed);
    }

    /**
     * For a message's last attempt before it is bounced: the addresses an ordinary attempt would use (its probe leases
     * taken as {@link #select} takes them), then those the host status table passes over, in the plan's order, as
     * routes too, none left as a last resort; at most twice the address limit in all.
     */
    public Selection selectEvery(MxOutcome.Routes plan) {
        return selectEvery(plan, port);
    }

    /** {@link #selectEvery(MxOutcome.Routes)} with the hosts' SMTP port given. */
    public Selection selectEvery(MxOutcome.Routes plan, int port) {
        Selection ordinary = select(plan, port);
        List<MxRoute> routes = new ArrayList<>(ordinary.routes());
        for (MxRoute route : balanced(all(plan, port))) {
            if (routes.size() >= 2 * maxAddresses) {
                break;
            }
            if (!routes.contains(route)) {
                routes.add(route);
            }
        }
        return new Selection(routes, ordinary.probes(), List.of(), List.of());
    }

    /**
     * Postfix's smtp_balance_inet_protocols: when the plan has IPv4 and IPv6 addresses and the first
     * {@link #maxAddresses} are all of one family, the first address of the other family takes the
     * last place within the limit, so one attempt tries both (a destination unreachable over IPv6
     * whose hosts list more AAAA than the limit was deferred at every attempt without trying IPv4).
     */
    List<MxRoute> balanced(List<MxRoute> all) {
        if (all.size() <= maxAddresses || maxAddresses < 2) {
            return all;
        }
        boolean firstIsV6 = all.get(0).address() instanceof java.net.Inet6Address;
        for (int i = 1; i < maxAddresses; i++) {
            if ((all.get(i).address() instanceof java.net.Inet6Address) != firstIsV6) {
                return all; // both families within the limit already
            }
        }
        for (int i = maxAddresses; i < all.size(); i++) {
            if ((all.get(i).address() instanceof java.net.Inet6Address) != firstIsV6) {
                List<MxRoute> out = new ArrayList<>(all);
                out.add(maxAddresses - 1, out.remove(i));
                return out;
            }
        }
        return all;
    }

    /** Why deliveries pass {@code route} over now (a failure inside its retry time); empty when they would connect. */
    public java.util.Optional<HostStatusTable.Status> postponed(MxRoute route) {
        return hostStatus.postponed(route);
    }

    /** Every address of the plan in order, whatever its status (the operator's flush forgets them). */
    public List<MxRoute> all(MxOutcome.Routes plan) {
        return all(plan, port);
    }

    /** Every address of the plan in order, on {@code port}. */
    public List<MxRoute> all(MxOutcome.Routes plan, int port) {
        List<MxRoute> all = new ArrayList<>();
        for (MxHost host : plan.hosts()) {
            for (InetAddress address : host.addresses()) {
                all.add(new MxRoute(host.name(), host.preference(), address, port));
            }
        }
        return all;
    }
}
