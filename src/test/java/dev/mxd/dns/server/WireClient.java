package dev.mxd.dns.server;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.Message;

/** Sends raw DNS messages to a server on loopback, over UDP or TCP, with short timeouts. */
final class WireClient {

    static final int TIMEOUT_MILLIS = 2_000;

    private WireClient() {}

    /** The reply to one datagram, or empty if none came within {@code timeoutMillis}. */
    static Optional<byte[]> udp(InetSocketAddress server, byte[] query, int timeoutMillis) throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(server.getAddress(), 0))) {
            s.setSoTimeout(timeoutMillis);
            s.send(new DatagramPacket(query, query.length, server));
            byte[] buf = new byte[65_535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                s.receive(p);
            } catch (SocketTimeoutException none) {
                return Optional.empty();
            }
            return Optional.of(java.util.Arrays.copyOf(buf, p.getLength()));
        }
    }

    static Message udp(InetSocketAddress server, Message query) throws IOException {
        byte[] reply = udp(server, query.toWire(), TIMEOUT_MILLIS)
                .orElseThrow(() -> new IOException("no UDP answer from " + server + " to " + query.getQuestion()));
        return new Message(reply);
    }

    /** Sends every query on one TCP connection, then reads one answer per query. */
    static List<Message> tcp(InetSocketAddress server, List<Message> queries) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server, TIMEOUT_MILLIS);
            s.setSoTimeout(TIMEOUT_MILLIS);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            List<Message> answers = new ArrayList<>();
            for (Message q : queries) {
                byte[] wire = q.toWire();
                out.writeShort(wire.length);
                out.write(wire);
                out.flush();
                byte[] answer = new byte[in.readUnsignedShort()];
                in.readFully(answer);
                answers.add(new Message(answer));
            }
            return answers;
        }
    }

    static Message tcp(InetSocketAddress server, Message query) throws IOException {
        return tcp(server, List.of(query)).get(0);
    }
}
