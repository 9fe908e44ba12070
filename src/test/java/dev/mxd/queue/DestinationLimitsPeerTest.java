package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The queue manager's two limits, counted at real next hops (issue 13, case 7): deliveries at
 * once ({@code delivery.concurrency}) and deliveries at once to one destination
 * ({@code delivery.concurrency-per-destination}), and a backlog for a slow destination that
 * must not hold up mail for another one. The slow next hop is a scripted SMTP server that takes
 * its time over each message and counts the transactions open at once, per recipient domain;
 * the fast one is Postfix's smtp-sink. Messages are spooled in-process (Spool.store), as SMTP
 * would accept them, so 5,000 of them take seconds rather than minutes.
 */
@PeerTest
class DestinationLimitsPeerTest {

    static final String SLOW = "127.0.0.71";
    static final String FAST = "127.0.0.72";

    Path dir;
    int port;
    MxdDnsServer dns;
    final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        dir = TestDirs.forSmtpSink("mxd-limits");
        port = FreePort.tcpOn(SLOW, FAST);
        Path zone = TestDirs.zone(dir, "limits.test",
                "slowhost IN A " + SLOW, "fasthost IN A " + FAST,
                "slow MX 10 slowhost", "slowb MX 10 slowhost", "slowc MX 10 slowhost",
                "fast MX 10 fasthost");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        dns.close();
        TestDirs.deleteTree(dir);
    }

    /**
     * A next hop that holds each message for {@code hold} before its 250, and counts the
     * transactions (MAIL to the reply to the final dot) open at once, in all and per recipient domain.
     */
    static final class SlowNextHop {
        final Duration hold;
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger mostOpen = new AtomicInteger();
        final AtomicInteger delivered = new AtomicInteger();
        final Map<String, AtomicInteger> openByDomain = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> mostByDomain = new ConcurrentHashMap<>();
        /** The recipient domain of this session's transaction (each session has its own thread). */
        final ThreadLocal<String> domain = new ThreadLocal<>();
        final FakeSmtpServer server;

        SlowNextHop(String host, int port, Duration hold) throws IOException {
            this.hold = hold;
            this.server = FakeSmtpServer.startOn(new InetSocketAddress(host, port), 100_000, "220 slow.limits.test ESMTP",
                    List.of("PIPELINING", "8BITMIME"), this::answer);
        }

        private String answer(String line) {
            String upper = line.toUpperCase(Locale.ROOT);
            if (upper.startsWith("MAIL")) {
                mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
            } else if (upper.startsWith("RCPT") && domain.get() == null) {
                String d = line.substring(line.indexOf('@') + 1, line.indexOf('>')).toLowerCase(Locale.ROOT);
                domain.set(d);
                int now = openByDomain.computeIfAbsent(d, k -> new AtomicInteger()).incrementAndGet();
                mostByDomain.computeIfAbsent(d, k -> new AtomicInteger()).accumulateAndGet(now, Math::max);
            } else if (line.equals(".")) {
                try {
                    Thread.sleep(hold.toMillis()); // this next hop holds each message a while: what fills the connection slots
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                openByDomain.get(domain.get()).decrementAndGet();
                domain.remove();
                open.decrementAndGet();
                delivered.incrementAndGet();
            }
            return null; // the defaults: 250, 354 to DATA
        }

        int most(String domain) {
            return mostByDomain.getOrDefault(domain, new AtomicInteger()).get();
        }
    }

    TestMx mx(int concurrency, int perDestination) throws Exception {
        return TestMx.start("dns:\n  servers: [\"127.0.0.1:" + dns.address().getPort() + "\"]\n"
                + "delivery:\n  port: " + port + "\n  connect-timeout: 2s\n  greeting-timeout: 5s\n  command-timeout: 10s\n"
                + "  concurrency: " + concurrency + "\n  concurrency-per-destination: " + perDestination + "\n"
                + "  retry: {first: 1s, max: 2s, give-up: 1h}\n  scan-interval: 200ms\n");
    }

    /** Spools a message from alice@example.test to {@code to}, relayed by MX, as SMTP would; returns its marker. */
    static String spool(TestMx mx, String... to) {
        String marker = UUID.randomUUID().toString();
        List<Recipient> rcpts = Stream.of(to).map(a -> new Recipient(Mailbox.parse(a), RcptParameters.NONE,
                new Route.Relay(a.substring(a.indexOf('@') + 1)))).toList();
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("alice@example.test")), MailParameters.NONE, rcpts,
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                ("From: <alice@example.test>\r\nTo: <" + to[0] + ">\r\nSubject: " + marker + "\r\n\r\nmarker " + marker + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        StoreOutcome o = mx.mx().spool().store(m);
        assertThat(o).isInstanceOf(StoreOutcome.Stored.class);
        return marker;
    }

    Path dumps() {
        return dir.resolve("dumps-fast");
    }

    /** How many of {@code markers} reached the fast next hop (at least once). */
    long arrivedAtFast(List<String> markers) throws IOException {
        long n = 0;
        for (String m : markers) {
            n += SinkDump.countWith(dumps(), m) > 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    void aBacklogOfFiveThousandForASlowDestinationDoesNotDelayAnotherDestination() throws Exception {
        SlowNextHop slow = new SlowNextHop(SLOW, port, Duration.ofSeconds(1));
        peers.add(slow.server);
        peers.add(SmtpSink.start(FAST, port, "-d", dumps() + "/%M."));
        try (TestMx mx = mx(10, 3)) {
            long t0 = System.nanoTime();
            // Eight clients at once, as SMTP sessions would be: their fsyncs are shared (GroupSync).
            ExecutorService clients = Executors.newFixedThreadPool(8);
            AtomicInteger stored = new AtomicInteger();
            for (int i = 0; i < 5000; i++) {
                String to = "user" + i + "@slow.limits.test";
                clients.execute(() -> {
                    spool(mx, to);
                    stored.incrementAndGet();
                });
            }
            clients.shutdown();
            assertThat(clients.awaitTermination(2, TimeUnit.MINUTES)).isTrue();
            assertThat(stored.get()).isEqualTo(5000);
            Duration spooling = Duration.ofNanos(System.nanoTime() - t0);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> slow.open.get() == 3);

            long t1 = System.nanoTime();
            List<String> markers = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                markers.add(spool(mx, "user" + i + "@fast.limits.test"));
            }
            // behind the backlog they would wait some 28 minutes (5,000 messages, 3 at a time, 1 s each)
            Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                    .until(() -> arrivedAtFast(markers) == 10);
            Duration fast = Duration.ofNanos(System.nanoTime() - t1);
            System.out.printf("spooled 5000 for slow.limits.test in %d ms; 10 for fast.limits.test arrived in %d ms;"
                    + " slow next hop took %d meanwhile%n", spooling.toMillis(), fast.toMillis(), slow.delivered.get());

            assertThat(slow.most("slow.limits.test")).as("deliveries at once to slow.limits.test").isEqualTo(3);
        }
    }

    @Test
    void neverMoreDeliveriesAtOnceThanTheConcurrencyLimit() throws Exception {
        SlowNextHop slow = new SlowNextHop(SLOW, port, Duration.ofMillis(300));
        peers.add(slow.server);
        try (TestMx mx = mx(4, 3)) {
            for (int i = 0; i < 10; i++) {
                for (String domain : List.of("slow", "slowb", "slowc")) {
                    spool(mx, "user" + i + "@" + domain + ".limits.test");
                }
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slow.delivered.get() == 30 && mx.mx().queue().idle());
            assertThat(slow.mostOpen.get()).as("deliveries at once, all destinations").isEqualTo(4);
            for (String domain : List.of("slow", "slowb", "slowc")) {
                assertThat(slow.most(domain + ".limits.test")).as("deliveries at once to " + domain).isBetween(1, 3);
            }
        }
    }

    @Test
    void neverMoreDeliveriesAtOnceToOneDestinationThanItsLimit() throws Exception {
        SlowNextHop slow = new SlowNextHop(SLOW, port, Duration.ofMillis(300));
        peers.add(slow.server);
        try (TestMx mx = mx(10, 3)) {
            for (int i = 0; i < 30; i++) {
                spool(mx, "user" + i + "@slow.limits.test");
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slow.delivered.get() == 30 && mx.mx().queue().idle());
            assertThat(slow.most("slow.limits.test")).as("deliveries at once to slow.limits.test").isEqualTo(3);
            assertThat(mx.mx().spool().ids(QueueState.DEFERRED)).as("nothing left behind").isEmpty();
        }
    }

    @Test
    void aMessageToABusyAndAFreeDestinationGoesToTheFreeOneAtOnceAndToTheOtherLater() throws Exception {
        SlowNextHop slow = new SlowNextHop(SLOW, port, Duration.ofSeconds(1));
        peers.add(slow.server);
        peers.add(SmtpSink.start(FAST, port, "-d", dumps() + "/%M."));
        try (TestMx mx = mx(10, 2)) {
            for (int i = 0; i < 20; i++) {
                spool(mx, "user" + i + "@slow.limits.test");
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> slow.open.get() == 2);
            String marker = spool(mx, "both@slow.limits.test", "both@fast.limits.test");
            // waiting behind the slow destination's 20 would take 10 s (1 s each, 2 at a time)
            Awaitility.await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(20))
                    .until(() -> arrivedAtFast(List.of(marker)) == 1);
            assertThat(slow.server.commands("RCPT")).noneMatch(c -> c.contains("both@"));

            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> mx.mx().queue().idle()
                    && mx.mx().spool().ids(QueueState.DEFERRED).isEmpty() && mx.mx().spool().ids(QueueState.INCOMING).isEmpty());
            assertThat(slow.server.commands("RCPT")).filteredOn(c -> c.contains("both@slow.limits.test")).hasSize(1);
            assertThat(slow.delivered.get()).isEqualTo(21);
            assertThat(SinkDump.countWith(dumps(), marker)).as("the free destination's copy is not sent twice").isEqualTo(1);
            assertThat(slow.most("slow.limits.test")).isEqualTo(2);
        }
    }
}
