package dev.mxd.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A misbehaving SMTP peer: accepts TCP connections and never says anything, like a stuck server
 * or a deliberate tarpit. Clients must give up on their own greeting timeout. Connections stay
 * open until {@link #close()}.
 */
public final class Tarpit implements AutoCloseable {

    /** Connections held at most; a runaway client cannot make the test hold more. */
    private static final int MAX_HELD = 64;

    private final ServerSocket server;
    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private Tarpit(ServerSocket server) {
        this.server = server;
        this.acceptor = new Thread(this::acceptUntilClosed, "tarpit-" + server.getLocalSocketAddress());
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    public static Tarpit start(String host, int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        return new Tarpit(s);
    }

    /** Connections accepted so far. */
    public int accepted() {
        return held.size();
    }

    private void acceptUntilClosed() {
        while (!server.isClosed() && held.size() < MAX_HELD) {
            try {
                held.add(server.accept());
            } catch (IOException closed) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : held) {
            s.close();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
