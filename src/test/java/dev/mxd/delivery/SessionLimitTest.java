package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.TestMx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;

/**
 * A next hop that takes two sessions from one client at a time and greets any more with 421, as Postfix's smtpd does
 * under smtpd_client_connection_count_limit: a primary MX that is up. Its mail goes through the two sessions; the host is
 * not passed over as if it were down (each 421 put it aside for host-retry.first, and 100 messages took ten minutes to
 * reach a primary that was there all along).
 */
class SessionLimitTest {

    /** A minimal SMTP server: at most {@code limit} sessions at once, a 421 greeting beyond them. */
    private static final class LimitedServer implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger turnedAway = new AtomicInteger();
        final Set<String> subjects = ConcurrentHashMap.newKeySet();
        final AtomicInteger messages = new AtomicInteger();

        final long greetMillis;
        volatile long dataMillis = 200;

        /** {@code greetMillis}: how long a session it takes waits for its 220 (a greet pause, a far host). */
        LimitedServer(int limit, long greetMillis) throws Exception {
            this.greetMillis = greetMillis;
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        if (open.incrementAndGet() > limit) {
                            open.decrementAndGet();
                            turnedAway.incrementAndGet();
                            s.getOutputStream().write("421 4.7.0 next.test Error: too many connections\r\n".getBytes(StandardCharsets.US_ASCII));
                            s.close();
                            continue;
                        }
                        Thread session = new Thread(() -> converse(s), "limited-smtp");
                        session.setDaemon(true);
                        session.start();
                    } catch (Exception closed) {
                        return;
                    }
                }
            }, "limited-smtp-accept");
            t.setDaemon(true);
            t.start();
        }

        private void converse(Socket s) {
            try (s) {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                OutputStream out = s.getOutputStream();
                Thread.sleep(greetMillis);
                out.write("220 next.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < 10_000; i++) {
                    String line = in.readLine();
                    if (line == null) {
                        return;
                    }
                    String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
                    String reply = switch (verb) {
                        case "EHLO" -> "250-next.test\r\n250 PIPELINING";
                        case "DATA" -> "354 go on";
                        case "QUIT" -> "221 bye";
                        default -> "250 ok";
                    };
                    if (verb.equals("DATA")) {
                        out.write("354 go on\r\n".getBytes(StandardCharsets.US_ASCII));
                        for (String l; (l = in.readLine()) != null && !l.equals("."); ) {
                            if (l.startsWith("Subject: ")) {
                                subjects.add(l.substring(9));
                            }
                        }
                        messages.incrementAndGet();
                        Thread.sleep(dataMillis); // a next hop that takes its time: mxd's deliveries overlap, as after an outage
                        reply = "250 2.0.0 taken";
                    }
                    out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    if (verb.equals("QUIT")) {
                        return;
                    }
                }
            } catch (Exception gone) {
                // the client went: the session ends
            } finally {
                open.decrementAndGet();
            }
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    /**
     * A host that turns sessions away while none of ours to it comes free within the wait (one hung in its DATA): in
     * trouble after all, passed over as before, so that the mail goes to a better MX or waits without a delivery thread
     * held per message.
     */
    @org.junit.jupiter.api.Test
    void aHostWhoseSessionsStayBusyThroughTheWaitIsPassedOver(@TempDir Path dir) throws Exception {
        java.time.Duration wait = RemoteDeliveryAgent.sessionWait;
        RemoteDeliveryAgent.sessionWait = Duration.ofSeconds(1);
        try (LimitedServer next = new LimitedServer(1, 0);
             TestMx mx = TestMx.startIn(dir, "delivery:\n  routes:\n    far.test: \"[127.0.0.1]:" + next.socket.getLocalPort()
                     + "\"\n  retry: {first: 5m, max: 1h, give-up: 1h}\n  host-retry: {first: 5m, max: 1h}\n")) {
            next.dataMillis = 6_000;
            mx.send("", "first@far.test", "Subject: hangs\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(Await.within(Duration.ofSeconds(10), Duration.ofMillis(50), () -> next.open.get() == 1)).isTrue();
            mx.send("", "second@far.test", "Subject: turned away\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(Await.within(Duration.ofSeconds(10), Duration.ofMillis(50),
                    () -> !mx.mx().hostStatus().snapshot().isEmpty())).as("passed over once the wait ran out").isTrue();
            assertThat(next.turnedAway.get()).isEqualTo(1);
        } finally {
            RemoteDeliveryAgent.sessionWait = wait;
        }
    }

    /**
     * {@code greetMillis} 400: the sessions it takes are still waiting for their greeting when the third is turned away
     * (a burst after an outage): those count as ours too, or the host was passed over as before.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "greeting after {0} ms")
    @org.junit.jupiter.params.provider.ValueSource(longs = {0, 400})
    void aNextHopThatLimitsSessionsGetsItsMailThroughThemAndIsNotPassedOver(long greetMillis, @TempDir Path dir) throws Exception {
        try (LimitedServer next = new LimitedServer(2, greetMillis);
             TestMx mx = TestMx.startIn(dir, "delivery:\n  routes:\n    far.test: \"[127.0.0.1]:" + next.socket.getLocalPort()
                     + "\"\n  retry: {first: 5m, max: 1h, give-up: 1h}\n  host-retry: {first: 5m, max: 1h}\n")) {
            int n = 30;
            for (int i = 0; i < n; i++) {
                mx.send("", "user" + i + "@far.test", ("Subject: limited-" + i + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII));
            }
            // with the host passed over for host-retry.first (5 minutes) at its first 421, this took minutes
            assertThat(Await.within(Duration.ofSeconds(60), Duration.ofMillis(100), () -> next.subjects.size() == n)).isTrue();
            assertThat(next.messages.get()).as("each once").isEqualTo(n);
            System.out.printf("session limit, greeting after %d ms: %d sessions turned away for %d messages%n", greetMillis,
                    next.turnedAway.get(), n);
            assertThat(next.turnedAway.get()).as("sessions turned away: the limit is learnt, not tried again for every message")
                    .isLessThanOrEqualTo(n / 3);
            assertThat(mx.mx().hostStatus().snapshot()).as("the host is not taken for down").isEmpty();
        }
    }
}
