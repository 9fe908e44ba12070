package dev.mxd.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The sending MTA's choices in MX resolution.
 *
 * @param localNames    host names that are this MTA, for loop prevention (RFC 5321 §5.1)
 * @param strictCnames  true: an exchange that is an alias is unusable; false: follow it and warn
 * @param addressOrder  address families to use and which goes first
 * @param maxExchanges  exchanges looked at per domain; more are ignored with a warning
 * @param localAddresses addresses at which this MTA itself would take the mail it sends (its
 *                      listeners on the port it delivers to): an exchange with one of them is this
 *                      host under another name, as Postfix's {@code inet_interfaces} tells it. A
 *                      wildcard address among them (a listener on 0.0.0.0 or [::]) stands for
 *                      every address that reaches that listener: the whole loopback range too, and the
 *                      unspecified address itself (a connection to 0.0.0.0 reaches this host)
 */
public record MxPolicy(Set<String> localNames, boolean strictCnames, AddressOrder addressOrder, int maxExchanges,
                       Set<InetAddress> localAddresses) {

    public MxPolicy {
        Set<String> names = new LinkedHashSet<>();
        for (String n : localNames) {
            names.add(MailDomain.parse(n).ascii());
        }
        localNames = Set.copyOf(names);
        localAddresses = Set.copyOf(localAddresses);
        if (maxExchanges < 1) {
            throw new IllegalArgumentException("maxExchanges must be at least 1");
        }
    }

    /**
     * Whether a connection to {@code a} on the delivery port would reach this MTA: one of its
     * listeners' addresses; with a listener on the wildcard address of a's family ([::] takes IPv4
     * too), any loopback address (all of 127.0.0.0/8 reaches it, not only the 127.0.0.1 an interface
     * lists); and the unspecified address when a wildcard or loopback listener is there (Linux sends
     * a connection to 0.0.0.0 to this host).
     */
    public boolean isLocal(InetAddress a) {
        if (localAddresses.isEmpty()) {
            return false;
        }
        if (localAddresses.contains(a)) {
            return true;
        }
        boolean wildcard = localAddresses.contains(ANY6) || (a instanceof Inet4Address && localAddresses.contains(ANY4));
        if (a.isLoopbackAddress()) {
            return wildcard;
        }
        return a.isAnyLocalAddress() && (wildcard || localAddresses.stream().anyMatch(InetAddress::isLoopbackAddress));
    }

    private static final InetAddress ANY4 = unspecified(4);
    private static final InetAddress ANY6 = unspecified(16);

    private static InetAddress unspecified(int octets) {
        try {
            return InetAddress.getByAddress(new byte[octets]);
        } catch (java.net.UnknownHostException impossible) {
            throw new AssertionError(impossible);
        }
    }

    public static MxPolicy defaults() {
        return new MxPolicy(Set.of(), false, AddressOrder.IPV6_FIRST, 100, Set.of());
    }

    public MxPolicy withLocalNames(Collection<String> names) {
        return new MxPolicy(Set.copyOf(names), strictCnames, addressOrder, maxExchanges, localAddresses);
    }

    public MxPolicy withLocalAddresses(Collection<InetAddress> addresses) {
        return new MxPolicy(localNames, strictCnames, addressOrder, maxExchanges, Set.copyOf(addresses));
    }

    public MxPolicy withStrictCnames(boolean strict) {
        return new MxPolicy(localNames, strict, addressOrder, maxExchanges, localAddresses);
    }

    public MxPolicy withAddressOrder(AddressOrder order) {
        return new MxPolicy(localNames, strictCnames, order, maxExchanges, localAddresses);
    }
}
