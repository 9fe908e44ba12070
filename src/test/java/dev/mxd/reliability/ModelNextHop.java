package dev.mxd.reliability;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The next hop of the pipeline model: an SMTP receiver whose faults the model switches while mail
 * flows (refused connections, a 421 greeting, 4xx to every RCPT, a hang-up in the middle of DATA),
 * that refuses chosen recipients with 550 for good, and that offers SMTPUTF8 or not. It records
 * each transaction it acknowledged after the final dot: the sender, the recipients it accepted and
 * the text. No real MTA produces these faults on demand, which is why it is scripted. Loopback
 * only; connections, lines and message size are bounded.
 */
final class ModelNextHop implements AutoCloseable {

    enum Mode { OK, REFUSE, GREET_421, TEMP_RCPT, DROP_IN_DATA }

    /** One transaction the hop acknowledged with 250 after the final dot. */
    record Delivery(String sender, List<String> recipients, String text) {}

    private static final int MAX_LINE = 4096;
    private static final int MAX_MESSAGE = 4 * 1024 * 1024;

    private final InetSocketAddress address;
    private final ExecutorService sessions = Executors.newFixedThreadPool(64, r -> {
        Thread t = new Thread(r, "model-next-hop");
        t.setDaemon(true);
        return t;
    });
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile ServerSocket server;
    private volatile Mode mode = Mode.OK;
    private volatile boolean smtputf8 = true;
    private final Set<String> refusedForGood = ConcurrentHashMap.newKeySet();
    final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    /** Connections accepted, over the hop's life. */
    final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

    ModelNextHop(InetSocketAddress address) throws IOException {
        if (!address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("the model's next hop listens on loopback only, not " + address);
        }
        this.address = address;
        listen();
    }

    /** Starts a new case: no faults, no refused recipients, nothing recorded. */
    synchronized void reset(boolean offerSmtputf8) throws IOException {
        mode(Mode.OK);
        smtputf8 = offerSmtputf8;
        refusedForGood.clear();
        deliveries.clear();
    }

    /** Recipients answered 550 5.1.1 whatever the mode (the model's permanent failures). */
    void refuseForGood(String address) {
        refusedForGood.add(address.toLowerCase(Locale.ROOT));
    }

    synchronized void mode(Mode next) throws IOException {
        if (next == Mode.REFUSE && server != null) {
            server.close(); // connection refused from now on
            server = null;
            for (Socket s : open) {
                s.close();
            }
        } else if (next != Mode.REFUSE && server == null) {
            listen();
        }
        mode = next;
    }

    private void listen() throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(address, 100);
        server = s;
        Thread t = new Thread(() -> accept(s), "model-next-hop-accept");
        t.setDaemon(true);
        t.start();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                connections.incrementAndGet();
                c.setSoTimeout(10_000);
                open.add(c);
                sessions.execute(() -> {
                    try (c) {
                        session(c);
                    } catch (IOException gone) {
                        // the client hung up or the case ended
                    } finally {
                        open.remove(c);
                    }
                });
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void session(Socket c) throws IOException {
        InputStream in = new BufferedInputStream(c.getInputStream());
        OutputStream out = c.getOutputStream();
        if (mode == Mode.GREET_421) {
            say(out, "421 4.3.2 hop.model.test not accepting mail right now");
            return;
        }
        say(out, "220 hop.model.test ESMTP model");
        String sender = null;
        List<String> accepted = new ArrayList<>();
        for (int commands = 0; commands < 10_000; commands++) {
            String line = line(in);
            if (line == null) {
                return;
            }
            String verb = (line.length() >= 4 ? line.substring(0, 4) : line).toUpperCase(Locale.ROOT);
            switch (verb) {
                case "EHLO" -> say(out, "250-hop.model.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                        + (smtputf8 ? "250-SMTPUTF8\r\n" : "") + "250 ENHANCEDSTATUSCODES");
                case "HELO" -> say(out, "250 hop.model.test");
                case "MAIL" -> {
                    sender = path(line);
                    accepted.clear();
                    if (!smtputf8 && line.toUpperCase(Locale.ROOT).contains("SMTPUTF8")) {
                        say(out, "555 5.5.4 SMTPUTF8 is not offered here");
                        sender = null;
                    } else {
                        say(out, "250 2.1.0 ok");
                    }
                }
                case "RCPT" -> {
                    String rcpt = path(line);
                    if (sender == null) {
                        say(out, "503 5.5.1 MAIL first");
                    } else if (refusedForGood.contains(rcpt.toLowerCase(Locale.ROOT))) {
                        say(out, "550 5.1.1 <" + rcpt + ">: no such user here");
                    } else if (mode == Mode.TEMP_RCPT) {
                        say(out, "450 4.2.1 <" + rcpt + ">: mailbox busy, try again later");
                    } else if (!smtputf8 && !ascii(rcpt)) {
                        say(out, "553 5.6.7 non-ASCII address without SMTPUTF8");
                    } else {
                        accepted.add(rcpt);
                        say(out, "250 2.1.5 ok");
                    }
                }
                case "DATA" -> {
                    if (sender == null || accepted.isEmpty()) {
                        say(out, "554 5.5.1 no valid recipients");
                        continue;
                    }
                    say(out, "354 go ahead");
                    String text = text(in, mode == Mode.DROP_IN_DATA);
                    if (text == null) {
                        return; // hung up in the middle of DATA, before the final dot: nothing acknowledged
                    }
                    deliveries.add(new Delivery(sender, List.copyOf(accepted), text));
                    say(out, "250 2.0.0 queued as model");
                    sender = null;
                    accepted.clear();
                }
                case "RSET" -> {
                    sender = null;
                    accepted.clear();
                    say(out, "250 2.0.0 ok");
                }
                case "NOOP" -> say(out, "250 2.0.0 ok");
                case "QUIT" -> {
                    say(out, "221 2.0.0 bye");
                    return;
                }
                default -> say(out, "502 5.5.2 not implemented");
            }
        }
    }

    private static boolean ascii(String s) {
        return s.chars().allMatch(ch -> ch < 0x80);
    }

    /** The address between the angle brackets of MAIL FROM:/RCPT TO:; "" for the null path. */
    private static String path(String line) {
        int open = line.indexOf('<');
        int close = line.indexOf('>', open + 1);
        return open < 0 || close < 0 ? "" : line.substring(open + 1, close);
    }

    /** The message text up to the final dot, unstuffed; null when the hop hangs up in it (the fault). */
    private static String text(InputStream in, boolean hangUp) throws IOException {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        while (true) {
            String line = line(in);
            if (line == null) {
                throw new SocketException("client hung up in DATA");
            }
            if (line.equals(".")) {
                return text.toString(StandardCharsets.UTF_8);
            }
            if (hangUp && text.size() > 50) {
                return null;
            }
            if (text.size() > MAX_MESSAGE) {
                throw new IOException("message larger than the model's bound");
            }
            text.writeBytes((line.startsWith(".") ? line.substring(1) : line).getBytes(StandardCharsets.UTF_8));
            text.writeBytes(new byte[] {'\r', '\n'});
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < MAX_LINE; i++) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            if (c == '\n') {
                String s = b.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        throw new IOException("line longer than " + MAX_LINE);
    }

    private static void say(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        ServerSocket s = server;
        if (s != null) {
            s.close();
        }
        for (Socket c : open) {
            c.close();
        }
        sessions.shutdownNow();
        try {
            sessions.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
