package dev.mxd.config;

import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A next hop as an operator writes it for {@code delivery.relay-host} and {@code delivery.routes}, in
 * Postfix's relayhost grammar: {@code [host]} or {@code [host]:port} is that host itself, its A/AAAA
 * records or the IP address in the brackets, with no MX lookup; a bare {@code host} or
 * {@code host:port} is a domain whose MX records are looked up, as for any mail domain.
 *
 * @param host      the host or domain name (lowercase A-labels), or an IP address in its usual text form
 * @param mxLookup  whether {@code host} is a domain to resolve by MX (written without brackets)
 * @param port      the SMTP port when written; otherwise {@code delivery.port}
 */
public record RelayHost(String host, boolean mxLookup, OptionalInt port) {

    public RelayHost {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("a relay host needs a host name");
        }
    }

    /** The IP address when {@code host} is one (only written in brackets), else empty. */
    public Optional<InetAddress> literal() {
        if (mxLookup || !(host.indexOf(':') >= 0 || host.matches("[0-9.]+"))) {
            return Optional.empty();
        }
        return Optional.of(HostPort.ipLiteral(host, host));
    }

    /**
     * Reads {@code [host]}, {@code [host]:port}, {@code [IPv6:addr]:port}, {@code host} or
     * {@code host:port}; anything else is an error that says how to write it.
     */
    public static RelayHost parse(String text) {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("a relay host is empty; write [host]:port (no MX lookup) or a domain (MX lookup)");
        }
        String host;
        String port = null;
        boolean bracketed = s.startsWith("[");
        if (bracketed) {
            String[] parts = HostPort.bracketed(text, s, "the host", "[host]:port");
            host = parts[0];
            port = parts[1];
            if (host.regionMatches(true, 0, "ipv6:", 0, 5)) {
                host = host.substring(5);
            }
        } else {
            int colon = s.indexOf(':');
            if (colon >= 0 && colon != s.lastIndexOf(':')) {
                String hint = HostPort.ipv6Hint(s, "25");
                throw new IllegalArgumentException("'" + text + "': an IPv6 address goes in brackets: "
                        + (hint.endsWith("]:25") ? "[" + s + "] or " + hint : hint));
            }
            host = colon >= 0 ? s.substring(0, colon) : s;
            port = colon >= 0 ? s.substring(colon + 1) : null;
        }
        OptionalInt p = OptionalInt.empty();
        if (port != null) {
            p = OptionalInt.of(HostPort.portNumber(text, port, 1));
        }
        boolean address = host.indexOf(':') >= 0 || host.matches("[0-9.]+");
        if (address) {
            if (!bracketed) {
                throw new IllegalArgumentException("'" + text + "': an IP address has no MX records; write it in brackets: ["
                        + host + "]" + (port == null ? "" : ":" + port));
            }
            InetAddress a = HostPort.ipLiteral(text, host);
            return new RelayHost(a.getHostAddress(), false, p);
        }
        return new RelayHost(hostName(text, host), !bracketed, p);
    }

    /** A host or domain name: letters, digits and hyphens in dot-separated labels (IDN allowed). */
    private static String hostName(String text, String host) {
        String key;
        try {
            key = MxdConfig.domainKey(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "': '" + host + "' is not a host name");
        }
        if (key.isEmpty() || key.length() > 253 || !List.of(key.split("\\.", -1)).stream()
                .allMatch(l -> l.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"))) {
            throw new IllegalArgumentException("'" + text + "': '" + host + "' is not a host name");
        }
        return key.toLowerCase(Locale.ROOT);
    }

    /** As it would be written in the file: {@code [192.0.2.1]:587}, {@code [2001:db8::1]}, {@code relay.example:25}. */
    @Override
    public String toString() {
        String h = mxLookup ? host : "[" + host + "]";
        return port.isPresent() ? h + ":" + port.getAsInt() : h;
    }
}
