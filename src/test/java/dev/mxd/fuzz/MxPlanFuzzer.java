package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Jazzer target: DNS answers → delivery plan. A UDP "server" on loopback answers each query
 * mxd's resolver sends with the next fuzzed datagram (its id and question copied from the
 * query half the time, so that the resolver takes it as the answer). Whatever comes back,
 * the resolver must end in an {@link MxOutcome} (a plan, a temporary or a permanent failure),
 * never an exception.
 */
public final class MxPlanFuzzer {

    private static final DatagramSocket SERVER;
    private static final BlockingQueue<byte[]> ANSWERS = new ArrayBlockingQueue<>(64);

    static {
        try {
            SERVER = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SERVER.setSoTimeout(100);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread t = new Thread(MxPlanFuzzer::answer, "fuzzed-dns");
        t.setDaemon(true);
        t.start();
    }

    private MxPlanFuzzer() {}

    private static void answer() {
        byte[] buf = new byte[1500];
        while (!SERVER.isClosed()) {
            try {
                DatagramPacket q = new DatagramPacket(buf, buf.length);
                SERVER.receive(q);
                byte[] a = ANSWERS.poll();
                if (a == null || a.length == 0) {
                    continue; // no answer: the resolver times out
                }
                a = a.clone();
                if ((a[0] & 1) == 1 && a.length >= 12 && q.getLength() >= 12) {
                    // Copy id and question from the query so that the answer matches it.
                    int questionEnd = Math.min(q.getLength(), 512);
                    byte[] merged = new byte[Math.max(a.length, questionEnd)];
                    System.arraycopy(a, 0, merged, 0, a.length);
                    System.arraycopy(buf, 12, merged, 12, questionEnd - 12);
                    if (a.length > questionEnd) {
                        System.arraycopy(a, questionEnd, merged, questionEnd, a.length - questionEnd);
                    }
                    merged[0] = buf[0];
                    merged[1] = buf[1];
                    merged[2] |= (byte) 0x80; // QR: a response
                    merged[4] = buf[4];
                    merged[5] = buf[5];
                    a = merged;
                } else if (a.length >= 2) {
                    a[0] = buf[0];
                    a[1] = buf[1];
                }
                SERVER.send(new DatagramPacket(a, a.length, q.getSocketAddress()));
            } catch (SocketTimeoutException idle) {
                // wait for the next query
            } catch (IOException e) {
                return;
            }
        }
    }

    public static void fuzzerTestOneInput(FuzzedDataProvider data) {
        ANSWERS.clear();
        for (int i = 0; i < 8 && data.remainingBytes() > 0; i++) {
            ANSWERS.offer(data.consumeBytes(data.consumeInt(0, 700)));
        }
        DnsSettings settings = new DnsSettings(List.of((InetSocketAddress) SERVER.getLocalSocketAddress()),
                Duration.ofMillis(10), 1, Duration.ofMillis(100), 8, 0, Duration.ofDays(1));
        MxOutcome outcome = new MxResolver(new DnsClient(settings), MxPolicy.defaults()).resolve("fuzz.test");
        if (outcome == null) {
            throw new AssertionError("no outcome");
        }
    }
}
