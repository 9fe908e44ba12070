package dev.mxd.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A raw SMTP client for tests: sends exact bytes and reads whole replies, every read bounded by a timeout. */
public final class RawSmtp implements AutoCloseable {

    private Socket socket;
    private InputStream in;
    private OutputStream out;

    public RawSmtp(InetSocketAddress server) throws IOException {
        this(server, null);
    }

    /** Connects from a chosen local address (another 127.x "client host"), or any when null. */
    public RawSmtp(InetSocketAddress server, java.net.InetAddress from) throws IOException {
        socket = new Socket();
        if (from != null) {
            socket.bind(new InetSocketAddress(from, 0));
        }
        socket.connect(server, 5000);
        socket.setSoTimeout(5000);
        use(socket);
    }

    /** Switches to another socket over the same connection (an SSLSocket after STARTTLS). */
    public void use(Socket s) throws IOException {
        socket = s;
        in = s.getInputStream();
        out = s.getOutputStream();
    }

    public Socket socket() {
        return socket;
    }

    /**
     * STARTTLS (its reply must be 220), then the handshake with any certificate accepted, for
     * {@code serverName}; the session goes on over TLS.
     */
    public void startTls(String serverName) throws Exception {
        send("STARTTLS\r\n");
        String r = reply();
        if (!r.startsWith("220")) {
            throw new IOException("STARTTLS refused: " + r);
        }
        javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) Certificates.trustAll().getSocketFactory()
                .createSocket(socket, serverName, socket.getPort(), true);
        s.setSoTimeout(10_000);
        s.startHandshake();
        use(s);
    }

    public RawSmtp send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    public RawSmtp send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** One reply, all its lines joined with "\n"; "" when the server closed the connection. */
    public String reply() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            String line = line();
            if (line == null) {
                break;
            }
            lines.add(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                break;
            }
        }
        return String.join("\n", lines);
    }

    /** The reply code of the next reply, or -1 when the connection closed. */
    public int code() throws IOException {
        String r = reply();
        return r.length() >= 3 ? Integer.parseInt(r.substring(r.lastIndexOf('\n') + 1, r.lastIndexOf('\n') + 4)) : -1;
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < 10_000; i++) {
            int c = in.read();
            if (c < 0) {
                return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
            }
            if (c == '\n') {
                String s = b.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        throw new IOException("reply line longer than 10,000 bytes");
    }

    /** Whether the server has closed the connection (reads EOF within the timeout). */
    public boolean closedByServer() throws IOException {
        try {
            for (int i = 0; i < 100_000; i++) {
                if (in.read() < 0) {
                    return true;
                }
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
