package dev.mxd.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A loopback port free for both TCP and UDP right now (DNS servers need both).
 *
 * <p>The port is taken below the kernel's ephemeral range: a port inside it can later be handed
 * to a client as its own source port (dig binds with SO_REUSEADDR), and a client whose source
 * port equals the server's port reads back its own query as the answer.
 */
public final class FreePort {

    private static final int LOWEST = 10_000;

    private FreePort() {}

    public static int tcpAndUdp(String host) {
        int highest = ephemeralLow() - 1;
        for (int i = 0; i < 200; i++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, highest + 1);
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
