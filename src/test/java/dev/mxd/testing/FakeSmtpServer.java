package dev.mxd.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A scripted SMTP server for the cases a real server will not produce on demand: a 421 greeting,
 * no greeting at all, a hang-up in the middle of DATA or right after the final dot. Each command
 * line is answered by a {@code responder} (default: 250 to everything, 354 to DATA); the reply
 * {@link #HANG_UP} closes the connection without a word and {@link #SILENCE} says nothing.
 * It records every command (marked " +" when more input was already waiting, which is how a
 * test sees that the client pipelined) and the raw DATA bytes of each message. Loopback only;
 * bounded in connections, commands and message size.
 */
public final class FakeSmtpServer implements AutoCloseable {

    public static final String HANG_UP = "<hang up>";
    public static final String SILENCE = "<silence>";
    /** As the answer to DATA: 354, then a hang-up after the first 100 octets of text. */
    public static final String HANG_UP_IN_DATA = "<hang up in data>";

    /** As the answer to DATA: 354, then not another octet read, as a server whose disk is stuck would do. */
    public static final String STOP_READING_IN_DATA = "<stop reading in data>";

    private static final int MAX_CONNECTIONS = 32;
    private static final int IN_DATA_HANG_UP_OCTETS = 100;
    private static final int MAX_COMMANDS = 10_000;
    private static final int MAX_LINE = 4096;

    private final ServerSocket server;
    private final String greeting;
    private final List<String> ehlo;
    private final Function<String, String> responder;
    private final long hangUpAfterDataBytes;
    /** Sent at the hang-up point in DATA before the close (a 552 or 554 mid-stream); null: none. */
    private volatile String replyAtHangUp;
    /** When set, STARTTLS (unless the responder answers it) is taken: 220, then the TLS handshake as the server. */
    private volatile SSLContext tls;
    private final int maxConnections;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    /** Every command line received, in order, over all connections; " +" when more input was already waiting. */
    public final List<String> commands = new CopyOnWriteArrayList<>();
    /** The names the client sent in TLS SNI, one list entry per name, over all STARTTLS handshakes. */
    public final List<String> serverNames = new CopyOnWriteArrayList<>();
    /** The DATA content of each message as it came over the wire (dot-stuffed, CRLF), without the final ".". */
    public final List<byte[]> messages = new CopyOnWriteArrayList<>();

    private FakeSmtpServer(InetSocketAddress bind, int maxConnections, String greeting, List<String> ehlo,
                           Function<String, String> responder, long hangUpAfterDataBytes) throws IOException {
        if (!bind.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("FakeSmtpServer listens on loopback only, not " + bind);
        }
        this.server = new ServerSocket();
        this.server.setReuseAddress(true);
        this.server.bind(bind);
        this.maxConnections = maxConnections;
        this.greeting = greeting;
        this.ehlo = List.copyOf(ehlo);
        this.responder = responder;
        this.hangUpAfterDataBytes = hangUpAfterDataBytes;
        Thread acceptor = new Thread(this::acceptLoop, "fake-smtp-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * @param greeting   the greeting line, e.g. "220 fake.test ESMTP", or {@link #SILENCE}
     * @param ehlo       the EHLO reply's keyword lines ("PIPELINING", "SIZE 1000"); the first line is added
     * @param responder  reply for each other command line (MAIL, RCPT, DATA, ".", RSET, STARTTLS, ...);
     *                   null falls back to the defaults
     */
    public static FakeSmtpServer start(String greeting, List<String> ehlo, Function<String, String> responder)
            throws IOException {
        return new FakeSmtpServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), MAX_CONNECTIONS, greeting, ehlo,
                responder, -1);
    }

    /**
     * Like {@link #start} on a chosen loopback address and port (an MX host at 127.0.0.x), for
     * up to {@code maxConnections} connections. A reply ending in {@link #HANG_UP} is sent, then
     * the connection closed.
     */
    public static FakeSmtpServer startOn(InetSocketAddress bind, int maxConnections, String greeting, List<String> ehlo,
                                         Function<String, String> responder) throws IOException {
        return new FakeSmtpServer(bind, maxConnections, greeting, ehlo, responder, -1);
    }

    /** Like {@link #start} but hangs up after receiving {@code bytes} bytes of DATA content. */
    public static FakeSmtpServer hangingUpInData(List<String> ehlo, long bytes) throws IOException {
        return new FakeSmtpServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), MAX_CONNECTIONS,
                "220 fake.test ESMTP", ehlo, c -> null, bytes);
    }

    /**
     * At the hang-up point in DATA, sends {@code reply} before it closes, with the client's content still unread: its
     * kernel answers the rest with a reset, as a server that refuses a message part-way (552 too big, 554) does.
     */
    public FakeSmtpServer replyingAtTheHangUp(String reply) {
        this.replyAtHangUp = reply;
        return this;
    }

    /** Takes STARTTLS from now on with {@code context}'s certificate (the responder may still answer it otherwise). */
    public FakeSmtpServer offeringTls(SSLContext context) {
        this.tls = context;
        return this;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** Connections accepted so far. */
    public int connections() {
        return sockets.size();
    }

    /** The commands whose verb is {@code verb} ("MAIL", "RCPT", ...). */
    public List<String> commands(String verb) {
        return commands.stream().filter(c -> c.toUpperCase(Locale.ROOT).startsWith(verb)).toList();
    }

    private void acceptLoop() {
        for (int i = 0; i < maxConnections && !server.isClosed(); i++) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                Thread t = new Thread(() -> converse(s), "fake-smtp-session");
                t.setDaemon(true);
                t.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void converse(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            if (!reply(out, greeting)) {
                return;
            }
            for (int i = 0; i < MAX_COMMANDS; i++) {
                String line = readLine(in);
                if (line == null) {
                    return;
                }
                commands.add(in.available() > 0 ? line + " +" : line);
                String verb = line.split(" ", 2)[0].toUpperCase(Locale.ROOT);
                String answer = responder.apply(line);
                if (verb.equals("DATA") && HANG_UP_IN_DATA.equals(answer)) {
                    reply(out, "354 End data with <CR><LF>.<CR><LF>");
                    in.readNBytes(IN_DATA_HANG_UP_OCTETS);
                    return;
                }
                if (verb.equals("DATA") && STOP_READING_IN_DATA.equals(answer)) {
                    reply(out, "354 End data with <CR><LF>.<CR><LF>");
                    waitForClose();
                    return;
                }
                if (verb.equals("STARTTLS") && answer == null && tls != null) {
                    reply(out, "220 2.0.0 Ready to start TLS");
                    SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(s, null, s.getPort(), true);
                    secure.setUseClientMode(false);
                    secure.startHandshake();
                    if (secure.getSession() instanceof javax.net.ssl.ExtendedSSLSession x) {
                        x.getRequestedServerNames().forEach(n -> serverNames.add(n instanceof javax.net.ssl.SNIHostName h
                                ? h.getAsciiName() : n.toString()));
                    }
                    in = new BufferedInputStream(secure.getInputStream()); // nothing read ahead: the client waited for the 220
                    out = secure.getOutputStream();
                    continue;
                }
                if (answer == null) {
                    answer = switch (verb) {
                        case "EHLO" -> ehloReply();
                        case "DATA" -> "354 End data with <CR><LF>.<CR><LF>";
                        case "QUIT" -> "221 2.0.0 Bye";
                        case "STARTTLS" -> "454 4.7.0 TLS not available";
                        default -> "250 2.0.0 Ok";
                    };
                }
                if (!reply(out, answer)) {
                    return;
                }
                if (verb.equals("QUIT")) {
                    return;
                }
                if (verb.equals("DATA") && answer.startsWith("354")) {
                    if (!readData(in)) {
                        if (replyAtHangUp != null) {
                            reply(out, replyAtHangUp);
                        }
                        return;
                    }
                    commands.add(".");
                    String done = responder.apply(".");
                    if (!reply(out, done == null ? "250 2.0.0 Ok: queued as FAKE" : done)) {
                        return;
                    }
                }
            }
        } catch (IOException ignored) {
            // the client went away; the test looks at what was recorded
        }
    }

    private String ehloReply() {
        StringBuilder sb = new StringBuilder("250");
        sb.append(ehlo.isEmpty() ? " " : "-").append("fake.test");
        for (int i = 0; i < ehlo.size(); i++) {
            sb.append("\r\n250").append(i == ehlo.size() - 1 ? " " : "-").append(ehlo.get(i));
        }
        return sb.toString();
    }

    /** False when the script says to stop: hang up now, or stay silent until the client leaves. */
    private boolean reply(OutputStream out, String text) throws IOException {
        if (HANG_UP.equals(text)) {
            return false;
        }
        if (text.endsWith(HANG_UP)) {
            out.write((text.substring(0, text.length() - HANG_UP.length()) + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return false;
        }
        if (SILENCE.equals(text)) {
            waitForClose();
            return false;
        }
        out.write((text + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return true;
    }

    private void waitForClose() {
        Await.within(Duration.ofSeconds(60), Duration.ofMillis(100), server::isClosed);
    }

    /** Reads DATA content up to CRLF.CRLF; false when the hang-up point came first. At most 64 MB. */
    private boolean readData(InputStream in) throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int state = 2; // 0: mid-line, 1: after CR, 2: at line start, 3: after "." at line start, 4: after ".\r"
        long limit = hangUpAfterDataBytes >= 0 ? hangUpAfterDataBytes : 64L << 20;
        while (data.size() < limit) {
            int b = in.read();
            if (b < 0) {
                return false;
            }
            data.write(b);
            state = switch (state) {
                case 2 -> b == '.' ? 3 : b == '\r' ? 1 : 0;
                case 3 -> b == '\r' ? 4 : b == '\n' ? 2 : 0;
                case 4 -> b == '\n' ? 5 : 0;
                default -> b == '\r' ? 1 : (state == 1 && b == '\n') ? 2 : 0;
            };
            if (state == 5) {
                byte[] all = data.toByteArray();
                messages.add(java.util.Arrays.copyOf(all, all.length - 3));
                return true;
            }
        }
        return false;
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int i = 0; i < MAX_LINE; i++) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            if (b == '\n') {
                String s = line.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            line.write(b);
        }
        throw new IOException("command line longer than " + MAX_LINE + " bytes");
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
