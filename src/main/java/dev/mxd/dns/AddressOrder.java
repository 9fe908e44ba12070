package dev.mxd.dns;

import java.util.Locale;

/** Which address families a host's addresses come in, and which family is tried first. */
public enum AddressOrder {
    IPV6_FIRST, IPV4_FIRST, IPV4_ONLY, IPV6_ONLY;

    public boolean wantsIpv4() {
        return this != IPV6_ONLY;
    }

    public boolean wantsIpv6() {
        return this != IPV4_ONLY;
    }

    /** Parses {@code ipv6-first}, {@code ipv4-first}, {@code ipv4} or {@code ipv6}. */
    public static AddressOrder parse(String text) {
        switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "ipv6-first": return IPV6_FIRST;
            case "ipv4-first": return IPV4_FIRST;
            case "ipv4": return IPV4_ONLY;
            case "ipv6": return IPV6_ONLY;
            default:
                throw new IllegalArgumentException("'" + text + "' is not an address order: use ipv6-first, ipv4-first, ipv4 or ipv6");
        }
    }
}
