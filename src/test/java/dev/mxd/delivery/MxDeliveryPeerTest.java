package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.OutboundRecipient;
import dev.mxd.smtp.client.RecipientOutcome;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.Tarpit;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Delivery by MX end to end (issue 4): a sending mxd relays a trusted client's mail by real
 * MX lookups (zone served by mxd dns) to receiving MX hosts on 127.0.0.x addresses, all on one
 * port standing in for 25: Postfix's smtp-sink (plain, or refusing at greeting or RCPT), a
 * tarpit that never greets, and addresses where nothing listens. Retry and timeout settings
 * are shortened in the config; nothing sleeps for real minutes.
 */
@PeerTest
class MxDeliveryPeerTest {

    static final String GOOD = "127.0.0.32";
    static final String REFUSED = "127.0.0.31";
    static final String TARPIT = "127.0.0.33";
    static final String BUSY = "127.0.0.34";
    static final String SOFT = "127.0.0.35";
    static final String HARD = "127.0.0.36";
    static final String EQUAL_A = "127.0.0.37";
    static final String EQUAL_B = "127.0.0.38";
    static final String PRIMARY = "127.0.0.41";
    static final String BACKUP = "127.0.0.42";
    static final String LATE = "127.0.0.43";
    static final String STUCK = "127.0.0.44";

    static Path dir;
    static int port;
    static MxdDnsServer dns;
    static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-delivery");
        port = FreePort.tcpOn(GOOD, REFUSED, TARPIT, BUSY, SOFT, HARD, EQUAL_A, EQUAL_B, PRIMARY, BACKUP, LATE, STUCK);
        Path zone = TestDirs.zone(dir, "dest.test",
                "good IN A " + GOOD, "refused IN A " + REFUSED, "tarpit IN A " + TARPIT, "busy IN A " + BUSY,
                "soft IN A " + SOFT, "hard IN A " + HARD, "eqa IN A " + EQUAL_A, "eqb IN A " + EQUAL_B,
                "late IN A " + LATE,
                "down MX 10 refused", "down MX 20 good",
                "slow MX 10 tarpit", "slow MX 20 good",
                "greet MX 10 busy", "greet MX 20 good",
                "defer MX 10 soft",
                "reject MX 10 hard",
                "share MX 10 eqa", "share MX 10 eqb",
                "nullmx MX 0 .",
                "later MX 10 late",
                "stuck IN A " + STUCK, "stuckonly MX 10 stuck", "quick MX 10 good");
        Path backupZone = TestDirs.zone(dir, "bk.test",
                "@ MX 10 prim", "@ MX 20 back", "prim IN A " + PRIMARY, "back IN A " + BACKUP);
        dns = MxdDnsServer.start(List.of(zone, backupZone), new InetSocketAddress("127.0.0.1", 0));
        peers.add(SmtpSink.start(GOOD, port, "-d", dumps(GOOD)));
        peers.add(SmtpSink.start(BUSY, port, "-r", "CONNECT"));
        peers.add(SmtpSink.start(HARD, port, "-f", "RCPT", "-B", "550 5.1.1 no such user here"));
        peers.add(SmtpSink.start(EQUAL_A, port, "-d", dumps(EQUAL_A)));
        peers.add(SmtpSink.start(EQUAL_B, port, "-d", dumps(EQUAL_B)));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        dns.close();
        TestDirs.deleteTree(dir);
    }

    static String dumps(String host) {
        return dir.resolve("dumps-" + host) + "/%M.";
    }

    static Path dumpsOf(String host) {
        return dir.resolve("dumps-" + host);
    }

    static int dumpCount(String host) throws IOException {
        if (!Files.isDirectory(dumpsOf(host))) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dumpsOf(host))) {
            return (int) s.count();
        }
    }

    /** Messages at a sink whose text contains {@code marker}. */
    static long dumpsWith(String host, String marker) throws IOException {
        return SinkDump.countWith(dumpsOf(host), marker);
    }

    static String delivery(String dnsServer, String extra) {
        return "dns:\n  servers: [\"" + dnsServer + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 1s\n  greeting-timeout: 1s\n  command-timeout: 2s\n"
                + "  retry: {first: 1s, max: 2s, give-up: 1h}\n  host-retry: {first: 3s, max: 6s}\n  scan-interval: 200ms\n"
                + extra;
    }

    static TestMx sender() throws Exception {
        return TestMx.start(delivery("127.0.0.1:" + dns.address().getPort(), ""));
    }

    /** Submits one message to mxd as a trusted client; returns the marker in its body. */
    static String submit(InetSocketAddress mx, String from, String to) {
        return submit(mx, from, OutboundRecipient.of(to), e -> e);
    }

    /** Submits one message with DSN parameters of the caller's choosing. */
    static String submit(InetSocketAddress mx, String from, OutboundRecipient to,
                         java.util.function.UnaryOperator<dev.mxd.smtp.client.OutboundEnvelope> dsn) {
        String marker = UUID.randomUUID().toString();
        byte[] body = ("From: <" + from + ">\r\nTo: <" + to.address() + ">\r\nSubject: test " + marker
                + "\r\n\r\nmarker " + marker + "\r\n").getBytes(StandardCharsets.US_ASCII);
        OpenResult opened = SmtpConnection.open(mx, "mxd-under-test",
                ClientSettings.defaults("client.test").withTls(TlsPolicy.NONE)
                        .withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(10))));
        assertThat(opened).isInstanceOf(OpenResult.Ready.class);
        try (SmtpConnection c = ((OpenResult.Ready) opened).connection()) {
            TransactionResult r = c.send(dsn.apply(dev.mxd.smtp.client.OutboundEnvelope.of(from, List.of(to), MessageContent.of(body))));
            assertThat(r).isInstanceOf(TransactionResult.Completed.class);
            assertThat(((TransactionResult.Completed) r).recipients().get(0)).isInstanceOf(RecipientOutcome.Accepted.class);
        }
        return marker;
    }

    static void awaitAt(String host, String marker) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> dumpsWith(host, marker) == 1);
    }

    /** The DSNs in alice's mailbox (alice@example.test is the sender of failing mail). */
    static String awaitBounce(TestMx mx) throws Exception {
        List<Path> box = mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
        assertThat(box).as("a DSN in the sender's Maildir").hasSize(1);
        return Files.readString(box.get(0), StandardCharsets.UTF_8);
    }

    @Test
    void primaryRefusingConnectionsSendsMailToTheSecondary() throws Exception {
        try (TestMx mx = sender()) {
            String marker = submit(mx.smtp(), "alice@example.test", "user@down.dest.test");
            awaitAt(GOOD, marker);
            assertThat(mx.mx().hostStatus().snapshot()).anySatisfy(s -> {
                assertThat(s.address().getAddress().getHostAddress()).isEqualTo(REFUSED);
                assertThat(s.lastError()).contains("refused");
            });
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> mx.mx().spool().ids(QueueState.DEFERRED).isEmpty()
                    && mx.mx().queue().idle());
        }
    }

    @Test
    void tarpitPrimaryCostsOneTimeoutThenIsPassedOverUntilItsRetryTime() throws Exception {
        Tarpit tarpit = Tarpit.start(TARPIT, port);
        // the primary's retry time (8 s) well past the five deliveries below, even on a loaded machine: were one of them
        // to come after it, it would probe the tarpit (rightly) and the count below would not say what this test asks
        try (TestMx mx = TestMx.start(delivery("127.0.0.1:" + dns.address().getPort(), "")
                .replace("host-retry: {first: 3s, max: 6s}", "host-retry: {first: 8s, max: 16s}"))) {
            long t0 = System.nanoTime();
            awaitAt(GOOD, submit(mx.smtp(), "alice@example.test", "first@slow.dest.test"));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
            assertThat(tarpit.accepted()).isEqualTo(1);

            long t1 = System.nanoTime();
            for (int i = 0; i < 5; i++) {
                awaitAt(GOOD, submit(mx.smtp(), "alice@example.test", "next" + i + "@slow.dest.test"));
            }
            assertThat(tarpit.accepted()).as("the postponed primary is not tried again").isEqualTo(1);
            assertThat(Duration.ofNanos(System.nanoTime() - t1)).as("five deliveries, none after a greeting timeout")
                    .isLessThan(Duration.ofSeconds(7));

            // The primary comes back: after its retry time it gets mail again.
            tarpit.close();
            try (SmtpSink back = SmtpSink.start(TARPIT, port, "-d", dumps(TARPIT))) {
                Instant retry = mx.mx().hostStatus().snapshot().get(0).retryAt();
                Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Instant.now().isAfter(retry));
                awaitAt(TARPIT, submit(mx.smtp(), "alice@example.test", "again@slow.dest.test"));
                assertThat(mx.mx().hostStatus().snapshot()).isEmpty();
            }
        } finally {
            tarpit.close();
        }
    }

    /**
     * One message for two domains, one of whose only MX never greets (a tarpit, with a greeting
     * timeout of 30 s): the other domain's copy arrives at once, while the tarpit still holds its
     * connection, as Postfix delivers each destination of a message in parallel.
     */
    @Test
    void aTarpittingDomainDoesNotHoldBackAnotherDomainsCopy() throws Exception {
        // the tarpit is closed first (resources close in reverse order): its held connection ends, and the node stops at once
        try (TestMx mx = TestMx.start(delivery("127.0.0.1:" + dns.address().getPort(), "")
                     .replace("greeting-timeout: 1s", "greeting-timeout: 30s"));
             Tarpit stuck = Tarpit.start(STUCK, port)) {
            String marker = UUID.randomUUID().toString();
            byte[] body = ("From: <alice@example.test>\r\nSubject: test " + marker + "\r\n\r\nmarker " + marker + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            OpenResult opened = SmtpConnection.open(mx.smtp(), "mxd-under-test",
                    ClientSettings.defaults("client.test").withTls(TlsPolicy.NONE)
                            .withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(10))));
            assertThat(opened).isInstanceOf(OpenResult.Ready.class);
            try (SmtpConnection c = ((OpenResult.Ready) opened).connection()) {
                TransactionResult r = c.send(dev.mxd.smtp.client.OutboundEnvelope.of("alice@example.test",
                        List.of(OutboundRecipient.of("user@stuckonly.dest.test"), OutboundRecipient.of("user@quick.dest.test")),
                        MessageContent.of(body)));
                assertThat(r).isInstanceOf(TransactionResult.Completed.class);
            }
            long t0 = System.nanoTime();
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .until(() -> dumpsWith(GOOD, marker) == 1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("not after the tarpit's 30 s").isLessThan(Duration.ofSeconds(10));
            assertThat(stuck.accepted()).as("the tarpit still holds its connection").isEqualTo(1);
        }
    }

    @Test
    void fourXxGreetingMovesOnToTheNextHost() throws Exception {
        try (TestMx mx = sender()) {
            awaitAt(GOOD, submit(mx.smtp(), "alice@example.test", "user@greet.dest.test"));
            assertThat(mx.mx().hostStatus().snapshot()).anySatisfy(s ->
                    assertThat(s.address().getAddress().getHostAddress()).isEqualTo(BUSY));
        }
    }

    @Test
    void fourXxAtRcptDefersThenDeliversOnRetry() throws Exception {
        try (TestMx mx = sender()) {
            String marker;
            try (SmtpSink soft = SmtpSink.start(SOFT, port, "-r", "RCPT", "-b", "450 4.2.0 try again later")) {
                marker = submit(mx.smtp(), "alice@example.test", "user@defer.dest.test");
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
                String id = mx.mx().spool().ids(QueueState.DEFERRED).get(0);
                Envelope e = mx.mx().spool().envelope(QueueState.DEFERRED, id);
                assertThat(e.recipients().get(0).state()).isEqualTo(DeliveryState.DEFERRED);
                assertThat(e.recipients().get(0).detail()).contains("450");
            }
            try (SmtpSink fixed = SmtpSink.start(SOFT, port, "-d", dumps(SOFT))) {
                awaitAt(SOFT, marker); // the 1 s retry, no flush needed
            }
            assertThat(mx.delivered("alice")).as("no bounce for a deferral").isEmpty();
        }
    }

    @Test
    void fiveXxAtRcptBouncesToTheSendersMaildir() throws Exception {
        try (dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO); TestMx mx = sender()) {
            submit(mx.smtp(), "alice@example.test", "nobody@reject.dest.test");
            String dsn = awaitBounce(mx);
            // Postfix's words for a bounce, which pflogsumm and operators' greps look for
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).containsPattern(": sender non-delivery notification: [0-9A-Z]+$"));
            assertThat(dsn).contains("Return-Path: <>", "multipart/report", "report-type=delivery-status",
                    "Final-Recipient: rfc822; nobody@reject.dest.test", "Action: failed", "Status: 5.1.1",
                    "Remote-MTA: dns; hard.dest.test\n", "Diagnostic-Code: smtp; 550 5.1.1 no such user here",
                    "Reporting-MTA: dns; mx1.example.test");
        }
    }

    @Test
    void equalPreferenceHostsShareTheLoad() throws Exception {
        int before = dumpCount(EQUAL_A) + dumpCount(EQUAL_B);
        try (TestMx mx = sender()) {
            int n = 60;
            for (int i = 0; i < n; i++) {
                submit(mx.smtp(), "alice@example.test", "user" + i + "@share.dest.test");
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> dumpCount(EQUAL_A) + dumpCount(EQUAL_B) - before >= n);
            int a = dumpCount(EQUAL_A);
            int b = dumpCount(EQUAL_B);
            // Each about half: binomial(60, 1/2) has sd ≈ 3.9; 15..45 is 3.9 sd either side.
            assertThat(a).isBetween(15, 45);
            assertThat(b).isBetween(15, 45);
        }
    }

    @Test
    void nullMxBouncesAtOnce() throws Exception {
        try (TestMx mx = sender()) {
            submit(mx.smtp(), "alice@example.test", "user@nullmx.dest.test");
            String dsn = awaitBounce(mx);
            assertThat(dsn).contains("Final-Recipient: rfc822; user@nullmx.dest.test", "Status: 5.1.10", "null MX");
        }
    }

    @Test
    void nxdomainBounces() throws Exception {
        try (TestMx mx = sender()) {
            submit(mx.smtp(), "alice@example.test", "user@no-such-host.dest.test");
            String dsn = awaitBounce(mx);
            assertThat(dsn).contains("Final-Recipient: rfc822; user@no-such-host.dest.test", "Status: 5.1.2", "NXDOMAIN");
        }
    }

    @Test
    void servfailDefersUntilDnsAnswers() throws Exception {
        Path broken = Files.writeString(dir.resolve("sf.test.zone.broken"), String.join("\n",
                "$ORIGIN sf.test.", "$TTL 300", "@ IN SOA ns.sf.test. h.sf.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX ten good", "good IN A " + GOOD, "") + "\n");
        Path fixed = Files.writeString(dir.resolve("sf.test.zone"), String.join("\n",
                "$ORIGIN sf.test.", "$TTL 300", "@ IN SOA ns.sf.test. h.sf.test. ( 1 3600 600 86400 60 )",
                "@ IN NS ns", "ns IN A 127.0.0.53", "@ MX 10 good", "good IN A " + GOOD, "") + "\n");
        KnotServer knot = KnotServer.start("sf.test", broken);
        InetSocketAddress dnsAddress = knot.address();
        try (TestMx mx = TestMx.start(delivery("127.0.0.1:" + dnsAddress.getPort(), ""))) {
            String marker = submit(mx.smtp(), "alice@example.test", "user@sf.test");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !mx.mx().spool().ids(QueueState.DEFERRED).isEmpty());
            String id = mx.mx().spool().ids(QueueState.DEFERRED).get(0);
            assertThat(mx.mx().spool().envelope(QueueState.DEFERRED, id).recipients().get(0).detail()).contains("SERVFAIL");
            knot.close();
            // The zone is repaired: the same DNS address now answers (mxd dns with the fixed zone).
            try (MxdDnsServer repaired = MxdDnsServer.start(List.of(fixed), dnsAddress)) {
                awaitAt(GOOD, marker);
            }
            assertThat(mx.delivered("alice")).isEmpty();
        } finally {
            knot.close();
        }
    }

    @Test
    void restartMidQueueLosesNothingAndKeepsTheSchedule() throws Exception {
        Path data = Files.createTempDirectory("mxd-restart");
        String extra = delivery("127.0.0.1:" + dns.address().getPort(), "").replace("retry: {first: 1s, max: 2s, give-up: 1h}",
                "retry: {first: 1h, max: 2h, give-up: 5d}");
        Map<String, Instant> schedule = new HashMap<>();
        List<String> markers = new ArrayList<>();
        try {
            try (TestMx mx = TestMx.startIn(data, extra)) {
                for (int i = 0; i < 3; i++) {
                    markers.add(submit(mx.smtp(), "alice@example.test", "user" + i + "@later.dest.test"));
                }
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> mx.mx().spool().ids(QueueState.DEFERRED).size() == 3
                        && mx.mx().queue().idle());
                for (String id : mx.mx().spool().ids(QueueState.DEFERRED)) {
                    schedule.put(id, mx.mx().spool().nextAttempt(id));
                }
            }
            assertThat(schedule.values()).allSatisfy(t -> assertThat(t).isAfter(Instant.now().plus(Duration.ofMinutes(50))));
            try (SmtpSink late = SmtpSink.start(LATE, port, "-d", dumps(LATE)); TestMx mx = TestMx.startIn(data, extra)) {
                Thread.sleep(1000); // a scan or two: nothing is due, nothing is sent
                assertThat(dumpCount(LATE)).isZero();
                for (String id : mx.mx().spool().ids(QueueState.DEFERRED)) {
                    assertThat(mx.mx().spool().nextAttempt(id)).isEqualTo(schedule.get(id));
                }
                assertThat(mx.mx().spool().ids(QueueState.DEFERRED)).containsExactlyInAnyOrderElementsOf(schedule.keySet());
                mx.mx().queue().flush();
                for (String marker : markers) {
                    awaitAt(LATE, marker);
                }
            }
        } finally {
            TestDirs.deleteTree(data);
        }
    }
    @Test
    void notifyNeverSuppressesTheBounce() throws Exception {
        try (TestMx mx = sender()) {
            submit(mx.smtp(), "alice@example.test", new OutboundRecipient("nobody@reject.dest.test",
                    java.util.Set.of(DsnNotify.NEVER), java.util.Optional.empty()), e -> e);
            awaitEmptyQueue(mx);
            Thread.sleep(500); // a bounce, were one made, would be in by now: an absence has no condition to wait for
            assertThat(mx.delivered("alice")).isEmpty();
        }
    }

    @Test
    void aBounceIsNeverBouncedButThePostmasterIsTold() throws Exception {
        try (TestMx mx = sender()) {
            submit(mx.smtp(), "", OutboundRecipient.of("nobody@reject.dest.test"), e -> e);
            awaitEmptyQueue(mx);
            Thread.sleep(500); // a second notice, were one made, would be in by now
            // alice is postmaster@example.test: one copy for the postmaster (Postfix's double bounce), nothing to <>.
            assertThat(mx.delivered("alice")).hasSize(1);
            assertThat(Files.readString(mx.delivered("alice").get(0), StandardCharsets.UTF_8))
                    .contains("Subject: Postmaster Copy: Undelivered Mail", "Final-Recipient: rfc822; nobody@reject.dest.test");
            assertThat(mx.delivered("bob")).isEmpty();
            assertThat(mx.mx().spool().ids(QueueState.INCOMING)).isEmpty();
        }
    }

    @Test
    void notifySuccessGetsASuccessNoticeWhereMxdIsTheFinalHop() throws Exception {
        try (TestMx mx = sender()) {
            submit(mx.smtp(), "alice@example.test", new OutboundRecipient("bob@example.test",
                    java.util.Set.of(DsnNotify.SUCCESS, DsnNotify.FAILURE), java.util.Optional.of("bob@example.test")),
                    e -> e.withDsn(java.util.Optional.of(DsnReturn.HDRS), java.util.Optional.of("track-42")));
            assertThat(mx.awaitDelivered("bob", 1, Duration.ofSeconds(10))).hasSize(1);
            String dsn = awaitBounce(mx);
            assertThat(dsn).contains("Action: delivered", "Status: 2.0.0", "Final-Recipient: rfc822; bob@example.test",
                    "Original-Recipient: rfc822;bob@example.test", "Original-Envelope-Id: track-42", "text/rfc822-headers");
        }
    }

    @Test
    void bounceCarriesEnvidOrcptAndHeadersOnlyForRetHdrs() throws Exception {
        try (TestMx mx = sender()) {
            String marker = submit(mx.smtp(), "alice@example.test", new OutboundRecipient("nobody@reject.dest.test", java.util.Set.of(),
                    java.util.Optional.of("Nobody@Reject.dest.test")),
                    e -> e.withDsn(java.util.Optional.of(DsnReturn.HDRS), java.util.Optional.of("env-7")));
            String dsn = awaitBounce(mx);
            assertThat(dsn).contains("Original-Envelope-Id: env-7", "Original-Recipient: rfc822;Nobody@Reject.dest.test",
                    "text/rfc822-headers", "Subject: test " + marker).doesNotContain("marker " + marker);
        }
    }

    @Test
    void mailPastItsQueueLifetimeBounces() throws Exception {
        String extra = delivery("127.0.0.1:" + dns.address().getPort(), "")
                .replace("give-up: 1h", "give-up: 3s");
        try (TestMx mx = TestMx.start(extra)) {
            submit(mx.smtp(), "alice@example.test", "user@later.dest.test"); // nothing listens at late.dest.test yet
            String dsn = awaitBounce(mx);
            assertThat(dsn).contains("Action: failed", "Status: 4.4.7", "delivery time expired",
                    "Final-Recipient: rfc822; user@later.dest.test");
            awaitEmptyQueue(mx);
        }
    }

    static void awaitEmptyQueue(TestMx mx) {
        Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50)).until(() ->
                mx.mx().queue().idle() && mx.mx().spool().ids(QueueState.DEFERRED).isEmpty()
                        && mx.mx().spool().ids(QueueState.INCOMING).isEmpty() && mx.mx().spool().ids(QueueState.ACTIVE).isEmpty());
    }
}
