package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * ETRN (RFC 1985) on a backup MX: example.org is a backup domain relayed to its primary at a loopback
 * port where nothing listens at first, so its mail waits (retry.first is 5 minutes, the primary's
 * address is passed over for 60 s). The primary comes back and says ETRN: the mail goes at once.
 */
class EtrnTest {

    @Test
    void aPrimaryBackInServiceGetsTheMailHeldForItAtOnce() throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        TestMx started;
        // The port is held while the node picks its own (it must not pick this one), then let go: nothing listens there.
        try (java.net.ServerSocket held = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            started = TestMx.start("delivery:\n  routes:\n    example.org: \"[127.0.0.1]:" + port + "\"\n");
        }
        try (TestMx mx = started) {
            String id = mx.sendTo("carol@example.org");
            assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).filter(QueueState.DEFERRED::equals)
                    .isPresent())).as("held while the primary is down").isTrue();
            try (FakeSmtpServer primary = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 10,
                    "220 primary.example.org ESMTP", List.of(), c -> null);
                 RawSmtp c = new RawSmtp(mx.smtp())) {
                assertThat(c.code()).isEqualTo(220);
                c.send("ETRN example.org\r\n");
                assertThat(c.reply()).startsWith("503 5.5.1"); // EHLO first, as Postfix asks
                c.send("EHLO primary.example.org\r\n");
                assertThat(c.reply()).contains("250-ETRN");
                c.send("ETRN example.org\r\n");
                assertThat(c.reply()).isEqualTo("250 2.0.0 queuing for node example.org started");
                assertThat(Await.within(Duration.ofSeconds(10), () -> primary.messages.size() == 1)).as("relayed to the primary").isTrue();
                assertThat(Await.within(Duration.ofSeconds(10), () -> mx.mx().spool().state(id).isEmpty())).isTrue();
                assertThat(primary.commands("RCPT")).containsExactly("RCPT TO:<carol@example.org>");

                c.send("ETRN @Example.ORG.\r\n"); // within the minute: one more run at its end, however often asked
                assertThat(c.reply()).matches("250 2\\.0\\.0 queuing for node example\\.org starts in [0-9]+ s \\(one run in 60 s\\)");
                c.send("ETRN example.org\r\n");
                assertThat(c.reply()).isEqualTo("250 2.0.0 queuing for node example.org is about to start");
                c.send("ETRN example.test\r\n"); // a local domain: nothing is queued here for another MX
                assertThat(c.reply()).startsWith("459 4.7.1 <example.test>: service unavailable");
                c.send("ETRN other.test\r\n");
                assertThat(c.reply()).startsWith("459 4.7.1 <other.test>");
                c.send("ETRN #queue\r\n");
                assertThat(c.reply()).startsWith("504 5.5.4");
                c.send("ETRN\r\n");
                assertThat(c.reply()).startsWith("501 5.5.4");
                c.send("MAIL FROM:<a@primary.example.org>\r\n");
                assertThat(c.code()).isEqualTo(250);
                c.send("ETRN example.org\r\n");
                assertThat(c.reply()).startsWith("503 5.5.1");
            }
        }
    }

    /**
     * A primary that asks a moment too early (its run finds it still closed) and again within the minute gets
     * its run at the minute's end; any number of requests meanwhile make one run, and runs never overlap.
     */
    @Test
    void aRequestWithinTheIntervalIsMergedIntoOneLaterRun() throws Exception {
        List<String> runs = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicInteger inRun = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean overlapped = new java.util.concurrent.atomic.AtomicBoolean();
        EtrnRuns.DomainFlush flush = domain -> {
            if (inRun.incrementAndGet() > 1) {
                overlapped.set(true);
            }
            runs.add(domain);
            java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
            inRun.decrementAndGet();
            return 0;
        };
        dev.mxd.mail.ClientInfo client = new dev.mxd.mail.ClientInfo(new InetSocketAddress("127.0.0.1", 4000), "p.test", true, false);
        try (EtrnRuns etrn = new EtrnRuns(flush, d -> d.endsWith(".org"), Clock.systemUTC(), Duration.ofSeconds(3))) {
            assertThat(etrn.start("a.org", client).summary()).isEqualTo("250 2.0.0 queuing for node a.org started");
            assertThat(etrn.start("b.org", client).summary()).isEqualTo("250 2.0.0 queuing for node b.org started");
            assertThat(etrn.start("c.test", client).code()).isEqualTo(459);
            assertThat(Await.within(Duration.ofSeconds(5), () -> runs.size() == 2)).isTrue();
            assertThat(etrn.start("A.org", client).summary()).startsWith("250 2.0.0 queuing for node a.org starts in");
            assertThat(etrn.start("a.org", client).summary()).isEqualTo("250 2.0.0 queuing for node a.org is about to start");
            assertThat(Await.within(Duration.ofSeconds(10), () -> runs.size() == 3)).as("the merged run").isTrue();
            Thread.sleep(1000);
            assertThat(runs).containsExactlyInAnyOrder("a.org", "b.org", "a.org");
            assertThat(overlapped).as("one run at a time").isFalse();
        }
    }

    /** Every ETRN counts as a junk command (as NOOP, RSET, VRFY and EHLO do in Postfix's smtpd_junk_command_limit). */
    @Test
    void etrnCountsTowardTheJunkCommandLimit() throws Exception {
        // three junk commands without an error: the EHLO and two ETRN
        try (TestMx mx = TestMx.start("limits:\n  max-junk-commands: 3\n  max-errors: 1\n");
             RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO x.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("ETRN example.org\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("ETRN example.org\r\n");
            assertThat(c.code()).isEqualTo(250);
            c.send("ETRN example.org\r\n");
            assertThat(c.code()).isEqualTo(250); // the third's own reply, then the close
            assertThat(c.reply()).startsWith("421 4.7.0");
        }
    }
}
