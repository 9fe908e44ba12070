package dev.mxd.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** A loopback port free for both TCP and UDP right now (DNS servers need both). */
public final class FreePort {

    private FreePort() {}

    public static int tcpAndUdp(String host) {
        for (int i = 0; i < 200; i++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 60_000);
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
}
