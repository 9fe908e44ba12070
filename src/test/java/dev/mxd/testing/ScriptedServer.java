package dev.mxd.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A tiny fake engine for the cases a real daemon will not produce on demand (malformed replies,
 * stalls): on 127.0.0.1 at an OS-chosen free port, each connection runs the script, which reads
 * the request it wants and returns the bytes to answer; {@code null} means stall until closed.
 */
public final class ScriptedServer implements AutoCloseable {

    /** What the fake does with one connection. */
    @FunctionalInterface
    public interface Script {
        byte[] answer(InputStream request) throws IOException;
    }

    private final ServerSocket listener;
    private final Thread acceptor;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();

    private ScriptedServer(ServerSocket listener, Script script) {
        this.listener = listener;
        this.acceptor = new Thread(() -> serve(script), "scripted-server");
        this.acceptor.setDaemon(true);
    }

    public static ScriptedServer start(Script script) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        ScriptedServer server = new ScriptedServer(s, script);
        server.acceptor.start();
        return server;
    }

    /** Reads everything the client sends until it half-closes or {@code limit} bytes. */
    public static byte[] readAll(InputStream in, int limit) throws IOException {
        return in.readNBytes(limit);
    }

    private void serve(Script script) {
        for (int i = 0; i < 100 && !listener.isClosed(); i++) {
            try (Socket s = listener.accept()) {
                InputStream in = new RecordingInput(s.getInputStream(), received);
                byte[] answer = script.answer(in);
                if (answer == null) {
                    closed.await(30, TimeUnit.SECONDS); // stall: the client's deadline must end this
                } else {
                    s.getOutputStream().write(answer);
                    s.getOutputStream().flush();
                    s.shutdownOutput();
                }
            } catch (IOException | InterruptedException e) {
                if (listener.isClosed()) {
                    return;
                }
            }
        }
    }

    /** The bytes clients sent, all connections together. */
    public synchronized byte[] received() {
        synchronized (received) {
            return received.toByteArray();
        }
    }

    public int port() {
        return listener.getLocalPort();
    }

    public String hostPort() {
        return "127.0.0.1:" + port();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        closed.countDown();
        listener.close();
        acceptor.join(5000);
    }

    private static final class RecordingInput extends java.io.FilterInputStream {
        private final ByteArrayOutputStream copy;

        RecordingInput(InputStream in, ByteArrayOutputStream copy) {
            super(in);
            this.copy = copy;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                synchronized (copy) {
                    copy.write(b);
                }
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                synchronized (copy) {
                    copy.write(b, off, n);
                }
            }
            return n;
        }
    }
}
