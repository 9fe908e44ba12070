package dev.mxd.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;

/**
 * A UDP relay in front of an authoritative server that answers SERVFAIL for the names under the
 * domains a test has "broken", as a recursive resolver does
 * when a zone's servers fail. Everything else is passed to the real server and its answer back.
 * Loopback only; each query waits at most 2 s for the real server.
 */
public final class ServfailSwitch implements AutoCloseable {

    private final DatagramSocket socket;
    private final InetSocketAddress upstream;
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    /** "name/TYPE" questions answered SERVFAIL, and ones never answered (a lost packet each time). */
    private final Set<String> failingQuestions = ConcurrentHashMap.newKeySet();
    private final Set<String> dropping = ConcurrentHashMap.newKeySet();
    private final Thread worker;

    public ServfailSwitch(InetSocketAddress listen, InetSocketAddress upstream) throws IOException {
        if (!listen.getAddress().isLoopbackAddress() || !upstream.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("loopback only");
        }
        this.socket = new DatagramSocket(listen);
        this.upstream = upstream;
        this.worker = new Thread(this::serve, "model-servfail-switch");
        worker.setDaemon(true);
        worker.start();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    public void fail(String domain) {
        failing.add(domain.toLowerCase(Locale.ROOT));
    }

    /** SERVFAIL for questions of {@code type} (org.xbill.DNS.Type) at exactly {@code name}. */
    public void fail(String name, int type) {
        failingQuestions.add(question(name, type));
    }

    /** No answer at all for questions of {@code type} at exactly {@code name}, as when every packet is lost. */
    public void drop(String name, int type) {
        dropping.add(question(name, type));
    }

    private static String question(String name, int type) {
        String n = name.toLowerCase(Locale.ROOT);
        return (n.endsWith(".") ? n.substring(0, n.length() - 1) : n) + "/" + type;
    }

    public void heal() {
        failing.clear();
        failingQuestions.clear();
        dropping.clear();
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket query = new DatagramPacket(buf, buf.length);
                socket.receive(query);
                byte[] q = java.util.Arrays.copyOf(query.getData(), query.getLength());
                byte[] answer = answer(q);
                if (answer != null) {
                    socket.send(new DatagramPacket(answer, answer.length, query.getSocketAddress()));
                }
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    private byte[] answer(byte[] query) throws IOException {
        Message m = new Message(query);
        Name name = m.getQuestion() == null ? null : m.getQuestion().getName();
        String asked = name == null ? null : question(name.toString(true), m.getQuestion().getType());
        if (asked != null && dropping.contains(asked)) {
            return null;
        }
        if (name != null && (broken(name) || failingQuestions.contains(asked))) {
            Message r = new Message(m.getHeader().getID());
            r.getHeader().setFlag(Flags.QR);
            r.getHeader().setFlag(Flags.RA);
            r.getHeader().setRcode(Rcode.SERVFAIL);
            r.addRecord(m.getQuestion(), Section.QUESTION);
            return r.toWire();
        }
        try (DatagramSocket up = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            up.setSoTimeout(2000);
            up.send(new DatagramPacket(query, query.length, upstream));
            byte[] buf = new byte[65535];
            DatagramPacket reply = new DatagramPacket(buf, buf.length);
            try {
                up.receive(reply);
            } catch (SocketTimeoutException lost) {
                return null;
            }
            return java.util.Arrays.copyOf(reply.getData(), reply.getLength());
        }
    }

    private boolean broken(Name name) {
        String n = name.toString(true).toLowerCase(Locale.ROOT);
        for (String d : failing) {
            if (n.equals(d) || n.endsWith("." + d)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        worker.join(2000);
    }
}
