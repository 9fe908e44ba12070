package dev.mxd.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Accept latency at a fixed offered rate: the time from the end of DATA (the client's
 * {@code .CRLF} written) to the server's reply, which for mxd and Postfix means "the message
 * is on disk". Messages are offered on a fixed schedule (message i at {@code i / rate}
 * seconds), spread over {@code connections} sessions; a session that falls behind sends its
 * next message at once, and that lateness is reported too, so a server that cannot keep up
 * shows as such rather than as a lower rate with good latencies.
 *
 * <p>The first {@code WARMUP} seconds are offered the same way and not counted: both servers are
 * measured in their steady state (for mxd, after the JIT compiled the hot paths).
 *
 * <p>Usage: {@code AcceptLatency HOST:PORT RATE CONNECTIONS SECONDS [SIZE [WARMUP]]} (bench/latency.sh).
 * Prints one line: {@code sent ok failed p50_ms p99_ms p999_ms max_ms late_ms}.
 */
public final class AcceptLatency {

    private AcceptLatency() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: AcceptLatency HOST:PORT RATE CONNECTIONS SECONDS [SIZE]");
            System.exit(64);
        }
        int colon = args[0].lastIndexOf(':');
        InetSocketAddress server = new InetSocketAddress(args[0].substring(0, colon), Integer.parseInt(args[0].substring(colon + 1)));
        double rate = Double.parseDouble(args[1]);
        int connections = Integer.parseInt(args[2]);
        int size = args.length > 4 ? Integer.parseInt(args[4]) : 4096;
        int warmup = (int) Math.round(rate * (args.length > 5 ? Double.parseDouble(args[5]) : 0));
        int total = warmup + (int) Math.round(rate * Double.parseDouble(args[3]));
        byte[] text = message(size);

        long[] latencies = new long[total];
        Arrays.fill(latencies, -1);
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong worstLateness = new AtomicLong();
        long start = System.nanoTime() + 500_000_000L; // every session connected by then
        long intervalNanos = (long) (1e9 / rate);
        List<Thread> sessions = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            Thread t = new Thread(() -> {
                try (Session s = new Session(server)) {
                    for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                        long due = start + i * intervalNanos;
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000)); // the offered load's schedule
                        } else {
                            worstLateness.accumulateAndGet(-wait, Math::max);
                        }
                        long took = s.send(text);
                        if (took < 0) {
                            failed.incrementAndGet();
                        } else {
                            latencies[i] = took;
                        }
                    }
                } catch (IOException | InterruptedException e) {
                    failed.incrementAndGet();
                    System.err.println("session: " + e);
                }
            }, "latency-" + c);
            t.start();
            sessions.add(t);
        }
        for (Thread t : sessions) {
            t.join(Math.max(60_000, (long) (2_000 * total / rate)));
        }
        String samples = System.getenv("LATENCY_SAMPLES"); // where in the run the slow ones fall: "second latency-ms" a line
        if (samples != null && !samples.isEmpty()) {
            try (java.io.PrintWriter w = new java.io.PrintWriter(java.nio.file.Files.newBufferedWriter(java.nio.file.Path.of(samples)))) {
                for (int i = warmup; i < total; i++) {
                    w.printf(java.util.Locale.ROOT, "%.3f %.3f%n", (i - warmup) / rate, latencies[i] / 1e6);
                }
            }
        }
        long[] ok = Arrays.stream(latencies, warmup, total).filter(l -> l >= 0).sorted().toArray();
        System.out.printf(java.util.Locale.ROOT, "%d %d %d %.2f %.2f %.2f %.2f %.0f%n", total - warmup, ok.length, failed.get(),
                percentile(ok, 50), percentile(ok, 99), percentile(ok, 99.9), ok.length == 0 ? 0 : ok[ok.length - 1] / 1e6,
                worstLateness.get() / 1e6);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    /** A 4 KB-ish message of short lines, none starting with a dot. */
    private static byte[] message(int size) {
        StringBuilder b = new StringBuilder("From: bench@client.test\r\nTo: user@sink.test\r\nSubject: latency\r\n\r\n");
        while (b.length() < size - 3) {
            b.append("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n");
        }
        b.append(".\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** One SMTP session, messages sent one at a time (no pipelining, so each reply is timed alone). */
    private static final class Session implements AutoCloseable {

        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        Session(InetSocketAddress server) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(server, 10_000);
            socket.setSoTimeout(60_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
            expect(reply(), '2');
            command("EHLO latency.client.test");
        }

        /** Sends one message; the nanoseconds from the end of DATA to its reply, or -1 if it was not accepted. */
        long send(byte[] text) throws IOException {
            command("MAIL FROM:<bench@client.test>");
            command("RCPT TO:<user@sink.test>");
            out.write("DATA\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(reply(), '3');
            out.write(text);
            out.flush();
            long sent = System.nanoTime();
            String r = reply();
            long took = System.nanoTime() - sent;
            if (r.charAt(0) != '2') {
                System.err.println("not accepted: " + r);
                return -1;
            }
            return took;
        }

        private void command(String c) throws IOException {
            out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(reply(), '2');
        }

        private static void expect(String reply, char first) throws IOException {
            if (reply.isEmpty() || reply.charAt(0) != first) {
                throw new IOException("unexpected reply: " + reply);
            }
        }

        /** A whole reply, multi-line ones included; its last line. */
        private String reply() throws IOException {
            while (true) {
                StringBuilder line = new StringBuilder();
                int ch;
                while ((ch = in.read()) != '\n') {
                    if (ch < 0) {
                        throw new IOException("connection closed");
                    }
                    if (ch != '\r') {
                        line.append((char) ch);
                    }
                }
                if (line.length() < 4 || line.charAt(3) != '-') {
                    return line.toString();
                }
            }
        }

        @Override
        public void close() throws IOException {
            try {
                out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException ignored) {
                // closing anyway
            }
            socket.close();
        }
    }
}
