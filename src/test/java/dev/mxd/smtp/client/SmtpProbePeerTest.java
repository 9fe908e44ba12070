package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.Tarpit;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link SmtpProbe} against real Postfix smtp-sink servers and misbehaving loopback peers. */
@PeerTest
class SmtpProbePeerTest {

    private static final String FULL = "127.0.0.41";
    private static final String HELO_ONLY = "127.0.0.42";
    private static final String BARE = "127.0.0.43";
    private static final String REJECT = "127.0.0.44";
    private static final String HANGS_UP = "127.0.0.45";
    private static final String SLOW_EHLO = "127.0.0.46";
    private static final String TARPIT = "127.0.0.47";
    private static final String NOTHING = "127.0.0.48";

    private static int port;
    private static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void startPeers() throws Exception {
        port = FreePort.tcpOn(FULL, HELO_ONLY, BARE, REJECT, HANGS_UP, SLOW_EHLO, TARPIT, NOTHING);
        peers.add(SmtpSink.start(FULL, port, "-h", "full.probe.test"));
        peers.add(SmtpSink.start(HELO_ONLY, port, "-f", "EHLO", "-h", "old.probe.test"));
        peers.add(SmtpSink.start(BARE, port, "-p", "-8", "-N", "-E", "-a", "-C", "-F", "-h", "bare.probe.test"));
        peers.add(SmtpSink.start(REJECT, port, "-f", "CONNECT", "-B", "554 5.7.1 Go away"));
        peers.add(SmtpSink.start(HANGS_UP, port, "-q", "EHLO"));
        peers.add(SmtpSink.start(SLOW_EHLO, port, "-W", "EHLO:20"));
        peers.add(Tarpit.start(TARPIT, port));
    }

    @AfterAll
    static void stopPeers() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
    }

    private static ProbeResult probe(String host, Duration connect, Duration read) {
        return new SmtpProbe(new ProbeSettings(connect, read, Optional.empty())).probe(new InetSocketAddress(host, port));
    }

    private static ProbeResult probe(String host) {
        return probe(host, Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    private static ProbeResult.Failed failed(ProbeResult r) {
        assertThat(r).isInstanceOf(ProbeResult.Failed.class);
        return (ProbeResult.Failed) r;
    }

    @Test
    void reachesAnEsmtpServerAndReadsItsExtensions() {
        long start = System.nanoTime();
        ProbeResult r = probe(FULL);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r).isInstanceOf(ProbeResult.Reached.class);
        ProbeResult.Reached ok = (ProbeResult.Reached) r;
        assertThat(ok.esmtp()).isTrue();
        assertThat(ok.greeting().code()).isEqualTo(220);
        assertThat(ok.greeting().firstLine()).isEqualTo("full.probe.test ESMTP");
        assertThat(ok.hello().code()).isEqualTo(250);
        assertThat(ok.extensions().domain()).isEqualTo("full.probe.test");
        assertThat(ok.extensions().keywords()).containsKeys("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN");
        assertThat(ok.starttls()).isFalse();
        assertThat(ok.millis()).isBetween(0L, millis);
        assertThat(millis).as("whole probe on loopback, under the 5 s timeouts").isLessThan(4_000L);
    }

    @Test
    void extensionsTheServerHidesAreNotReported() {
        ProbeResult.Reached ok = (ProbeResult.Reached) probe(BARE);
        assertThat(ok.esmtp()).isTrue();
        assertThat(ok.extensions().keywords()).doesNotContainKeys("PIPELINING", "8BITMIME", "DSN",
                "ENHANCEDSTATUSCODES", "AUTH", "XCLIENT", "XFORWARD");
    }

    @Test
    void fallsBackToHeloWhenEhloIsRefused() {
        ProbeResult r = probe(HELO_ONLY);
        assertThat(r).isInstanceOf(ProbeResult.Reached.class);
        ProbeResult.Reached ok = (ProbeResult.Reached) r;
        assertThat(ok.esmtp()).isFalse();
        assertThat(ok.hello().firstLine()).isEqualTo("old.probe.test");
        assertThat(ok.extensions().keywords()).isEmpty();
    }

    @Test
    void rejectingGreetingIsAFailureWithTheReply() {
        ProbeResult.Failed f = failed(probe(REJECT));
        assertThat(f.stage()).isEqualTo(SessionStage.GREETING);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REJECTED);
        assertThat(f.banner()).hasValueSatisfying(b -> {
            assertThat(b.code()).isEqualTo(554);
            assertThat(b.enhancedStatus()).hasValue(new EnhancedStatus(5, 7, 1));
        });
        assertThat(f.connectMillis()).isPresent();
        assertThat(f.code()).isEqualTo("greeting-rejected");
    }

    @Test
    void serverHangingUpAfterEhloIsClosedAtEhlo() {
        ProbeResult.Failed f = failed(probe(HANGS_UP));
        assertThat(f.stage()).isEqualTo(SessionStage.EHLO);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.CLOSED);
        assertThat(f.banner()).isPresent();
        assertThat(f.detail()).contains("closed the connection while we waited for its EHLO reply");
    }

    @Test
    void nothingListeningIsRefusedAtOnce() {
        long start = System.nanoTime();
        ProbeResult.Failed f = failed(probe(NOTHING));
        assertThat((System.nanoTime() - start) / 1_000_000).as("no connect timeout waited").isLessThan(3_000L);
        assertThat(f.stage()).isEqualTo(SessionStage.CONNECT);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REFUSED);
        assertThat(f.connectMillis()).isEmpty();
    }

    @Test
    void silentServerTimesOutAtGreetingAfterTheReadTimeout() {
        long start = System.nanoTime();
        ProbeResult.Failed f = failed(probe(TARPIT, Duration.ofSeconds(5), Duration.ofMillis(700)));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(f.stage()).isEqualTo(SessionStage.GREETING);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.TIMEOUT);
        assertThat(f.detail()).contains("no greeting within 700 ms");
        assertThat(millis).as("the read timeout, not the connect timeout's 5 s").isBetween(650L, 4_000L);
    }

    @Test
    void unansweredEhloTimesOutAtEhlo() {
        long start = System.nanoTime();
        ProbeResult.Failed f = failed(probe(SLOW_EHLO, Duration.ofSeconds(5), Duration.ofMillis(700)));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(f.stage()).isEqualTo(SessionStage.EHLO);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.TIMEOUT);
        assertThat(f.banner()).isPresent();
        assertThat(millis).as("the read timeout, not the connect timeout's 5 s").isBetween(650L, 4_000L);
    }

    /**
     * A listener whose accept queue is full drops new SYNs (Linux, tcp_abort_on_overflow=0), so the
     * connect hangs as it would behind a firewall that drops packets: loopback only, no blackhole route.
     */
    @Test
    void connectionThatNeverOpensTimesOutAtConnect() throws IOException {
        int p = FreePort.tcpOn("127.0.0.49");
        List<Socket> fillers = new ArrayList<>();
        try (ServerSocket full = new ServerSocket(p, 1, InetAddress.getByName("127.0.0.49"))) {
            boolean queueFull = false;
            for (int i = 0; i < 10 && !queueFull; i++) {
                Socket s = new Socket();
                fillers.add(s);
                try {
                    s.connect(full.getLocalSocketAddress(), 300);
                } catch (SocketTimeoutException e) {
                    queueFull = true;
                }
            }
            assertThat(queueFull).as("accept queue filled").isTrue();
            long start = System.nanoTime();
            ProbeResult r = new SmtpProbe(new ProbeSettings(Duration.ofMillis(500), Duration.ofSeconds(5), Optional.empty()))
                    .probe(new InetSocketAddress("127.0.0.49", p));
            long millis = (System.nanoTime() - start) / 1_000_000;
            ProbeResult.Failed f = failed(r);
            assertThat(f.stage()).isEqualTo(SessionStage.CONNECT);
            assertThat(f.cause()).isEqualTo(SessionFailure.Cause.TIMEOUT);
            assertThat(f.detail()).contains("within 500 ms");
            assertThat(millis).as("the connect timeout, not the read timeout's 5 s").isBetween(450L, 4_000L);
        } finally {
            for (Socket s : fillers) {
                s.close();
            }
        }
    }
}
