package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.net.InetAddress;

/**
 * A network written {@code 127.0.0.0/8} or {@code ::1/128} (a bare address is a /32 or /128; IPv6 may be bracketed,
 * {@code [::1]/128}, as Postfix's mynetworks writes it; an IPv4-mapped one, {@code ::ffff:127.0.0.0/104}, is the IPv4
 * network it maps).
 */
public record Cidr(InetAddress network, int prefix) {

    public Cidr {
        int max = network.getAddress().length * 8;
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("prefix /" + prefix + " is out of range 0.." + max);
        }
    }

    @JsonCreator
    public static Cidr parse(String text) {
        String s = text.strip();
        int slash = s.indexOf('/');
        String host = slash < 0 ? s : s.substring(0, slash);
        if (host.length() > 2 && host.startsWith("[") && host.endsWith("]") && host.indexOf(':') >= 0) {
            host = host.substring(1, host.length() - 1); // Postfix's mynetworks brackets IPv6: [::1]/128
        }
        InetAddress address = HostPort.ipLiteral(text, host);
        // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is parsed as the IPv4 address it maps, and clients are matched as
        // IPv4 ones, so its network is the IPv4 network of its last 32 bits: Postfix's mynetworks writes loopback as
        // [::ffff:127.0.0.0]/104, which is 127.0.0.0/8.
        boolean mapped = address.getAddress().length == 4 && host.indexOf(':') >= 0;
        int max = mapped ? 128 : address.getAddress().length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException("'" + text + "': the prefix length must be a number from 0 to " + max);
            }
            if (mapped && prefix < 96) {
                throw new IllegalArgumentException("'" + text + "': an IPv4-mapped network (::ffff:a.b.c.d) needs a prefix of 96"
                        + " or more (96 + the IPv4 prefix); or write the IPv4 network, " + address.getHostAddress() + "/" + Math.max(0, prefix - 96));
            }
        }
        return new Cidr(address, mapped ? prefix - 96 : prefix);
    }

    /**
     * The warning for an address with bits set past its prefix (192.168.1.1/24, as {@code ip addr} prints it): taken as
     * the network it lies in, as a CIDR is, but 172.16.5.0/12 may be a slip for a narrower network than the one trusted.
     * Empty when the address is the network's own.
     */
    public java.util.Optional<String> hostBitsWarning(String key) {
        InetAddress base = base();
        return base.equals(network) ? java.util.Optional.empty() : java.util.Optional.of(key + ": " + this + " has bits set past"
                + " its prefix; it is taken as " + dev.mxd.smtp.AddressText.of(base) + "/" + prefix + " (all of it): write that, or the prefix you meant");
    }

    /** The network address: the address with every bit past the prefix cleared (192.0.2.0 for 192.0.2.7/24). */
    public InetAddress base() {
        byte[] a = network.getAddress();
        for (int i = 0; i < a.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - 8 * i));
            a[i] &= (byte) (keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff);
        }
        try {
            return InetAddress.getByAddress(a);
        } catch (java.net.UnknownHostException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Whether {@code a} is inside this network (an IPv4 address is never inside an IPv6 network). */
    public boolean contains(InetAddress a) {
        byte[] net = network.getAddress();
        byte[] x = a.getAddress();
        if (net.length != x.length) {
            return false;
        }
        int bits = prefix;
        for (int i = 0; i < net.length && bits > 0; i++, bits -= 8) {
            int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
            if ((net[i] & mask) != (x[i] & mask)) {
                return false;
            }
        }
        return true;
    }

    @JsonValue
    @Override
    public String toString() {
        return dev.mxd.smtp.AddressText.of(network) + "/" + prefix;
    }
}
