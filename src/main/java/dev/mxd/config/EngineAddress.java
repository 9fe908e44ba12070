package dev.mxd.config;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

/**
 * Where a socket-speaking engine (clamd, spamd) listens, written as operators write it in clamd.conf
 * and spamd's options: {@code HOST:PORT} ({@code [::1]:3310} for IPv6) or {@code unix:/path/to/socket}.
 */
public sealed interface EngineAddress {

    /** The address to connect a {@link java.nio.channels.SocketChannel} to. */
    SocketAddress socketAddress();

    /** A TCP listener; the host is resolved when connecting, so a name may be given. */
    record Tcp(String host, int port) implements EngineAddress {
        public Tcp {
            if (host.isBlank()) {
                throw new IllegalArgumentException("engine address has no host: write HOST:PORT, for example 127.0.0.1:3310");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("engine port " + port + " is out of range: give a TCP port from 1 to 65535");
            }
        }

        @Override
        public SocketAddress socketAddress() {
            return new InetSocketAddress(host, port);
        }

        @Override
        public String toString() {
            return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
        }
    }

    /** A unix-domain stream socket (clamd's LocalSocket, spamd's --socketpath). */
    record Unix(Path path) implements EngineAddress {
        @Override
        public SocketAddress socketAddress() {
            return UnixDomainSocketAddress.of(path);
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** Parses {@code HOST:PORT}, {@code [IPv6]:PORT} or {@code unix:/path}; the message says what is wrong. */
    static EngineAddress parse(String text) {
        String s = text.strip();
        if (s.startsWith("unix:")) {
            String path = s.substring("unix:".length());
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("'" + text + "': a unix socket needs an absolute path, like unix:/run/clamav/clamd.ctl");
            }
            return new Unix(Path.of(path));
        }
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not an engine address: write HOST:PORT (127.0.0.1:3310)"
                    + " or unix:/path/to/socket");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("'" + text + "': write an IPv6 address in brackets, like [::1]:3310");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': the port after ':' must be a number from 1 to 65535", e);
        }
        return new Tcp(host, port);
    }
}
