package dev.mxd.smtp.client;

import dev.mxd.smtp.AddressText;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * The TCP part of opening an outbound SMTP session and the words both clients (the delivery
 * client and the probe of {@code mxd check}) use to describe it: why a connect failed, how an
 * address and a time limit are written, the address literal of our end.
 */
final class Connect {

    private Connect() {}

    /** Why a TCP connect failed, in words for people. */
    record Error(SessionFailure.Cause cause, String detail) {

        static Error of(IOException e, String where, Duration timeout) {
            if (e instanceof SocketTimeoutException) {
                return new Error(SessionFailure.Cause.TIMEOUT, "no TCP connection to " + where + " within " + text(timeout)
                        + ": the host is down or a firewall drops the port");
            }
            if (e instanceof ConnectException && String.valueOf(e.getMessage()).contains("refused")) {
                return new Error(SessionFailure.Cause.REFUSED, "connection to " + where
                        + " refused: nothing listens there; start the SMTP server or stop publishing this address");
            }
            if (localLimit(e)) {
                // This host ran out of descriptors, buffers or ports: no fault of the MX host, which is not postponed for it
                return new Error(SessionFailure.Cause.LOCAL, "cannot open a connection to " + where + " on this host: "
                        + e.getMessage() + " (a limit of this host, not the MX host's fault)");
            }
            return new Error(SessionFailure.Cause.UNREACHABLE, "cannot connect to " + where + ": " + e.getMessage());
        }
    }

    /** EMFILE, ENFILE, ENOBUFS or EADDRNOTAVAIL (ephemeral ports used up): the JDK's BindException, or its words for them. */
    static boolean localLimit(IOException e) {
        if (e instanceof java.net.BindException) { // EADDRNOTAVAIL or EADDRINUSE at connect: our end's address or port
            return true;
        }
        String m = String.valueOf(e.getMessage());
        return m.contains("Too many open files") || m.contains("No buffer space available")
                || m.contains("Cannot assign requested address");
    }

    /** RFC 5321 §4.1.3 address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
    static String addressLiteral(InetAddress address) {
        return address instanceof Inet6Address ? "[IPv6:" + AddressText.of(address) + "]" : "[" + AddressText.of(address) + "]";
    }

    /** "192.0.2.1:25", "[2001:db8::1]:25". */
    static String describe(InetSocketAddress target) {
        String host = AddressText.of(target.getAddress());
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + target.getPort() : host + ":" + target.getPort();
    }

    /** "10 s", "1500 ms", "2 min": timeouts in messages, as the options are written. */
    static String text(Duration d) {
        long ms = d.toMillis();
        if (ms % 60_000 == 0) {
            return ms / 60_000 + " min";
        }
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing was open
        }
    }
}
