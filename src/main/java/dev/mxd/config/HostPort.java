package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A listening or server address written {@code HOST:PORT} or {@code [IPV6]:PORT}. The host must be
 * an IP address, or {@code localhost} (127.0.0.1): a listener bound by another name would change
 * meaning when DNS changes, and localhost is the one name that does not.
 */
public record HostPort(InetAddress address, int port) {

    @JsonCreator
    public static HostPort parse(String text) {
        return parse(text, -1);
    }

    /** Parses HOST[:PORT]; without a port, {@code defaultPort} is used (or it is an error when negative). */
    public static HostPort parse(String text, int defaultPort) {
        String s = text.strip();
        String host;
        String port = null;
        if (s.startsWith("[")) {
            String[] parts = bracketed(text, s, "the IPv6 address", "[IPV6]:PORT");
            host = parts[0];
            port = parts[1];
        } else if (s.indexOf(':') != s.lastIndexOf(':')) {
            host = s;
        } else if (s.indexOf(':') >= 0) {
            host = s.substring(0, s.indexOf(':'));
            port = s.substring(s.indexOf(':') + 1);
        } else {
            host = s;
        }
        int p;
        if (port == null) {
            if (defaultPort < 0) {
                throw new IllegalArgumentException("'" + text + "': the port is missing; write HOST:PORT, for example "
                        + (host.indexOf(':') >= 0 ? ipv6Hint(host, "2525") : "127.0.0.1:2525"));
            }
            p = defaultPort;
        } else {
            p = portNumber(text, port, 0);
        }
        return new HostPort(ipLiteral(text, host), p);
    }

    /**
     * How to write {@code s}, an IPv6 address without brackets, with a port: {@code [s]:PORT}, or, when its last group is
     * the port someone meant ({@code ::1:41025}, no IPv6 address: five digits), {@code [::1]:41025}.
     */
    static String ipv6Hint(String s, String port) {
        int last = s.lastIndexOf(':');
        if (!valid(s) && last > 0 && s.substring(last + 1).matches("\\d{1,5}") && valid(s.substring(0, last))) {
            return "[" + s.substring(0, last) + "]:" + s.substring(last + 1);
        }
        return "[" + s + "]:" + port;
    }

    private static boolean valid(String ipv6) {
        try {
            ipLiteral(ipv6, ipv6);
            return ipv6.indexOf(':') >= 0;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Splits {@code [HOST]} or {@code [HOST]:PORT} (the text {@code s} starts with '[') into the host and
     * the port text (null when absent); {@code what} and {@code form} word the errors.
     */
    static String[] bracketed(String text, String s, String what, String form) {
        int close = s.indexOf(']');
        if (close < 0) {
            throw new IllegalArgumentException("'" + text + "': missing ']' after " + what);
        }
        String rest = s.substring(close + 1);
        if (!rest.isEmpty() && !rest.startsWith(":")) {
            throw new IllegalArgumentException("'" + text + "': write " + form);
        }
        return new String[] {s.substring(1, close), rest.isEmpty() ? null : rest.substring(1)};
    }

    /** A port number from {@code min} to 65535, or an error that quotes {@code text}. */
    static int portNumber(String text, String port, int min) {
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < min || p > 65535) {
            throw new IllegalArgumentException("'" + text + "': port '" + port + "' is not a number from " + min + " to 65535");
        }
        return p;
    }

    static InetAddress ipLiteral(String text, String host) {
        if (host.equalsIgnoreCase("localhost") || host.equalsIgnoreCase("localhost.")) {
            try { // 127.0.0.1, whatever java.net.preferIPv6Addresses says (RFC 6761 §6.3: localhost never leaves this host)
                return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
            } catch (UnknownHostException cannot) {
                throw new AssertionError(cannot);
            }
        }
        if (host.isEmpty() || !(host.indexOf(':') >= 0 || host.matches("[0-9.]+"))) {
            throw new IllegalArgumentException("'" + text + "': '" + host + "' is not an IP address (host names other than localhost are not allowed here)");
        }
        try {
            if (host.indexOf(':') < 0) {
                // Four decimal numbers, nothing else: the JDK also reads BSD's short forms (10 is 0.0.0.10, 172.16 is
                // 172.0.0.16), so "172.16/12" in trusted-networks trusted 172.0.0.0/12, public space; and text that is
                // no literal at all (300.1.1.1) it looks up in DNS.
                return dev.mxd.smtp.PathParser.ipv4Address(host).orElseThrow(() -> new IllegalArgumentException("'" + text + "': '"
                        + host + "' is not an IPv4 address: write all four numbers from 0 to 255 (10.0.0.0, not 10)"));
            }
            if (!host.matches("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?")) { // a zone index (fe80::1%eth0) names an interface, not a host
                throw new UnknownHostException(host);
            }
            return InetAddress.getByName(host); // an IPv6 literal: no DNS query is made
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "': '" + host + "' is not a valid IP address");
        }
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    @JsonValue
    @Override
    public String toString() {
        String h = dev.mxd.smtp.AddressText.of(address); // ::1, not 0:0:0:0:0:0:0:1
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
    }
}
