package dev.mxd.dns;

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
 *                      host under another name, as Postfix's {@code inet_interfaces} tells it
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
