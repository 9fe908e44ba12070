package dev.mxd.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports free right now, for test daemons: for TCP and UDP (DNS servers need both), or
 * for TCP on several addresses.
 *
 * <p>Ports are taken below the kernel's ephemeral range: a port inside it can be handed to
 * an outgoing connection in the time between the pick and the daemon's bind (rspamd takes seconds
 * to start), and a client whose source port equals the server's (dig binds with SO_REUSEADDR)
 * reads back its own query as the answer.
 */
public final class FreePort {

    private static final int LOWEST = 10_000;

    private FreePort() {}

    public static int tcpAndUdp(String host) {
        for (int i = 0; i < 200; i++) {
            int port = candidate();
            try (ServerSocket tcp = new ServerSocket();
                 DatagramSocket udp = new DatagramSocket(null)) {
                InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(host), port);
                tcp.setReuseAddress(true);
                tcp.bind(address);
                udp.bind(address);
                return port;
            } catch (IOException busy) {
                // try another
            }
        }
        throw new IllegalStateException("no free TCP+UDP port on " + host + " after 200 tries");
    }

    /**
     * A TCP port free on every one of these loopback addresses right now (MX hosts on several
     * addresses share one stand-in for port 25).
     */
    public static int tcpOn(String... hosts) {
        for (int i = 0; i < 200; i++) {
            int port = candidate();
            List<ServerSocket> bound = new ArrayList<>();
            try {
                for (String h : hosts) {
                    ServerSocket s = new ServerSocket();
                    bound.add(s);
                    s.bind(new InetSocketAddress(InetAddress.getByName(h), port));
                }
                return port;
            } catch (IOException busy) {
                // try another
            } finally {
                for (ServerSocket s : bound) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closing a probe socket
                    }
                }
            }
        }
        throw new IllegalStateException("no TCP port free on all of " + String.join(", ", hosts) + " after 200 tries");
    }

    /** A random port between LOWEST and the start of the ephemeral range. */
    private static int candidate() {
        return ThreadLocalRandom.current().nextInt(LOWEST, ephemeralLow());
    }

    /** The first port of net.ipv4.ip_local_port_range (32768 when it cannot be read). */
    static int ephemeralLow() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"), StandardCharsets.US_ASCII);
            int low = Integer.parseInt(range.strip().split("\\s+")[0]);
            return low > LOWEST + 1000 ? low : 32_768;
        } catch (IOException | RuntimeException unreadable) {
            return 32_768;
        }
    }
}
