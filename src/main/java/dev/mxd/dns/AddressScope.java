package dev.mxd.dns;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Says whether an address can be reached from the Internet at large. An MX of a public domain
 * that publishes one of these sends other people's mail to their own machine or nowhere (mxd check);
 * a TLS-RPT https rua that names one would have mxd post into its own network.
 */
public final class AddressScope {

    private AddressScope() {}

    /** What kind of non-public address this is, or empty for an address others can reach. */
    public static Optional<String> nonPublic(InetAddress a) {
        if (a.isLoopbackAddress()) {
            return Optional.of("a loopback address (127.0.0.0/8, ::1)");
        }
        if (a.isAnyLocalAddress()) {
            return Optional.of("the unspecified address");
        }
        if (a.isLinkLocalAddress()) {
            return Optional.of("a link-local address (169.254.0.0/16, fe80::/10)");
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) {
            if (nat64(b)) {
                // 64:ff9b::/96 (RFC 6052) carries an IPv4 address in its last 32 bits: a NAT64 gateway reaches that one
                try {
                    return nonPublic(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)))
                            .map(kind -> kind + " behind the NAT64 prefix 64:ff9b::/96");
                } catch (java.net.UnknownHostException impossible) {
                    throw new AssertionError(impossible);
                }
            }
            if ((b[0] & 0xff) == 0 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b
                    && b[4] == 0 && (b[5] & 0xff) == 1) {
                return Optional.of("a local-use NAT64 address (64:ff9b:1::/48, RFC 8215)");
            }
            if ((b[0] & 0xfe) == 0xfc) {
                return Optional.of("a unique local address (fc00::/7, RFC 4193)");
            }
            if (a.isSiteLocalAddress()) {
                return Optional.of("a site-local address (fec0::/10, deprecated by RFC 3879)");
            }
            return Optional.empty();
        }
        if (a.isSiteLocalAddress()) {
            return Optional.of("a private address (RFC 1918)");
        }
        if ((b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64) {
            return Optional.of("a shared address (100.64.0.0/10, RFC 6598)");
        }
        if (b[0] == 0) {
            return Optional.of("an address of \"this network\" (0.0.0.0/8, RFC 791)");
        }
        if ((b[0] & 0xff) == 198 && (b[1] & 0xfe) == 18) {
            return Optional.of("a benchmarking address (198.18.0.0/15, RFC 2544)");
        }
        return Optional.empty();
    }

    /** 64:ff9b::/96, the well-known NAT64 prefix. */
    private static boolean nat64(byte[] b) {
        if ((b[0] & 0xff) != 0 || (b[1] & 0xff) != 0x64 || (b[2] & 0xff) != 0xff || (b[3] & 0xff) != 0x9b) {
            return false;
        }
        for (int i = 4; i < 12; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * False for names under a special-use top-level domain that never exists in the public DNS
     * (RFC 6761 test, example, invalid, localhost; RFC 6762 local; RFC 8375 home.arpa; ICANN's internal):
     * private addresses are expected there.
     */
    public static boolean isPublicDomain(String ascii) {
        String d = ascii.endsWith(".") ? ascii.substring(0, ascii.length() - 1) : ascii;
        if (d.equals("home.arpa") || d.endsWith(".home.arpa")) {
            return false;
        }
        String tld = d.substring(d.lastIndexOf('.') + 1);
        return switch (tld) {
            case "test", "example", "invalid", "localhost", "local", "internal" -> false;
            default -> true;
        };
    }
}
