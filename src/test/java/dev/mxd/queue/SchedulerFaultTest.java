package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The queue manager when the JVM cannot give it what a delivery needs: no thread to run it on
 * ("unable to create native thread", a pool that refuses), or an Error thrown in the middle of
 * an attempt. Before, a refused task kept its worker permit and its id for ever (two refusals
 * with two workers stopped all delivery), an Error from the pool ended the scheduler thread, and
 * an Error in an attempt left the message in active/ until the next start. Every message must
 * still be delivered, once, while mxd runs.
 */
class SchedulerFaultTest {

    @TempDir
    Path dir;

    QueueManager queue;
    ExecutorService threads;

    @AfterEach
    void close() {
        if (queue != null) {
            queue.close();
        }
        if (threads != null) {
            threads.shutdownNow();
        }
    }

    @Test
    void aPoolThatCannotStartAThreadDelaysDeliveryButLosesNothing() throws Exception {
        threads = Executors.newCachedThreadPool();
        AtomicInteger refusals = new AtomicInteger(3);
        ExecutorService failing = new AbstractExecutorService() {
            @Override
            public void execute(Runnable task) {
                int left = refusals.getAndDecrement();
                if (left == 3) {
                    throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
                }
                if (left > 0) {
                    throw new RejectedExecutionException("no thread for it");
                }
                threads.execute(task);
            }

            @Override
            public void shutdown() {
                threads.shutdown();
            }

            @Override
            public List<Runnable> shutdownNow() {
                return threads.shutdownNow();
            }

            @Override
            public boolean isShutdown() {
                return threads.isShutdown();
            }

            @Override
            public boolean isTerminated() {
                return threads.isTerminated();
            }

            @Override
            public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
                return threads.awaitTermination(timeout, unit);
            }
        };
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        queue = new QueueManager(spool, settings(), noLocalMail(), countingRemote(deliveries), noNotices(),
                Clock.systemUTC(), failing);
        queue.start();

        for (int i = 0; i < 5; i++) {
            assertThat(spool.store(message("user" + i + "@far.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }

        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.size() == 5 && queue.idle() && empty(spool));
        assertThat(refusals.get()).as("the pool refused three times").isNegative();
        assertThat(queue.running()).as("the scheduler outlived the refusals").isTrue();
        assertThat(deliveries.values()).allSatisfy(n -> assertThat(n.get()).as("copies").isEqualTo(1));
    }

    @Test
    void anErrorInTheMiddleOfAnAttemptDefersTheMessage() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        AtomicInteger attempts = new AtomicInteger();
        DeliveryAgent counting = countingRemote(deliveries);
        DeliveryAgent remote = (e, text, rs) -> {
            if (attempts.incrementAndGet() == 1) {
                throw new StackOverflowError(); // a pathological message, say: this attempt ends here
            }
            return counting.deliver(e, text, rs);
        };
        queue = new QueueManager(spool, settings(), noLocalMail(), remote, noNotices(), Clock.systemUTC());
        queue.start();

        assertThat(spool.store(message("user@far.test"))).isInstanceOf(StoreOutcome.Stored.class);

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> deliveries.size() == 1 && queue.idle() && empty(spool));
        assertThat(attempts.get()).isEqualTo(2);
        assertThat(deliveries.get("user@far.test").get()).isEqualTo(1);
    }

    /**
     * An attempt that always ends in an exception (a bug that one message sets off): tried less and
     * less often, as any failing message, and on hold once its queue lifetime is over, for the
     * operator to look at. Before, it was tried every five minutes for ever.
     */
    @Test
    void aMessageWhoseEveryAttemptFailsIsPutOnHoldAtTheEndOfItsLifetime() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        AtomicInteger attempts = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            attempts.incrementAndGet();
            throw new IllegalStateException("a bug this message sets off");
        };
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofSeconds(2)), Duration.ofMillis(100), 100),
                noLocalMail(), remote, noNotices(), Clock.systemUTC());
        queue.start();

        assertThat(spool.store(message("user@far.test"))).isInstanceOf(StoreOutcome.Stored.class);

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> spool.count(QueueState.HOLD) == 1 && queue.idle());
        int tried = attempts.get();
        assertThat(tried).as("attempts within the 2 s lifetime").isBetween(2, 30);
        Thread.sleep(1_000);
        assertThat(attempts.get()).as("none once on hold").isEqualTo(tried);
        assertThat(empty(spool)).isTrue();
    }

    /**
     * An envelope that cannot be read (cut short by a failing disk, edited by hand): the fault
     * comes before the attempt, with the message still in deferred/. It is filed as a failed
     * attempt would be, so it is not found due again at every scan (an error in the log each
     * time, for ever), and it goes on hold at the end of its lifetime. The other mail goes on.
     */
    @Test
    void anEnvelopeThatCannotBeReadIsNotTriedAtEveryScanAndEndsOnHold() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Instant now = Instant.now();
        String bad = ((StoreOutcome.Stored) spool.store(message("bad@far.test"))).queueId();
        String good = ((StoreOutcome.Stored) spool.store(message("good@far.test"))).queueId();
        spool.defer(bad, QueueState.INCOMING, now);
        spool.defer(good, QueueState.INCOMING, now);
        java.nio.file.Files.writeString(dir.resolve(QueueState.DEFERRED.directory()).resolve(bad + ".json"), "{\"id\": \"" + bad);
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                // a lifetime of 8 s: the queue's start and the good delivery, on a loaded machine, well before its end
                new RetryPolicy(Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(8)), Duration.ofMillis(50), 100),
                noLocalMail(), countingRemote(deliveries), noNotices(), Clock.systemUTC());
        queue.start();

        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> deliveries.containsKey("good@far.test"));
        Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
                .until(() -> spool.nextAttempt(bad).isAfter(Instant.now()));
        assertThat(spool.state(bad)).as("set aside until its next attempt, not due at every 50 ms scan").contains(QueueState.DEFERRED);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> spool.state(bad).equals(Optional.of(QueueState.HOLD)));
        assertThat(deliveries.keySet()).containsExactly("good@far.test");
    }

    /**
     * A spool that refuses every change (read-only after a disk error; staged with immutable
     * envelope files, which even root cannot rename or touch): each due message's attempt fails,
     * and so does filing it back, so it stays due. Before, the scan for a backlog ran again as
     * soon as half the active limit was free and found the same messages at once: a tight loop,
     * two error lines a message, as long as the fault lasted. Now they wait for the regular scan.
     */
    @Test
    void aSpoolThatRefusesEveryChangeIsNotScannedInATightLoop() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Instant now = Instant.now();
        List<Path> envelopes = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String id = ((StoreOutcome.Stored) spool.store(message("user" + i + "@far.test"))).queueId();
            spool.defer(id, QueueState.INCOMING, now);
            envelopes.add(dir.resolve(QueueState.DEFERRED.directory()).resolve(id + ".json"));
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", envelopes), "chattr +i needs root on a file system with attributes");
        try (dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO)) {
            Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
            queue = new QueueManager(spool, new QueueManager.Settings(2, 2,
                    new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofSeconds(1), 4),
                    noLocalMail(), countingRemote(deliveries), noNotices(), Clock.systemUTC());
            queue.start();
            Thread.sleep(2_500);
            long failed = log.lines().stream().filter(l -> l.contains("delivery attempt failed")).count();
            // the start's scan and two regular ones, four messages each
            assertThat(failed).as("attempts in 2.5 s with a 1 s scan interval and 4 messages a scan").isBetween(4L, 16L);
            assertThat(deliveries).isEmpty();
        } finally {
            assertThat(dev.mxd.testing.Chattr.change("-i", envelopes)).as("the files made mutable again").isTrue();
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> empty(spool) && queue.idle());
    }

    /**
     * An attempt that ends with deferred/ refusing every change (a disk error, staged with an
     * immutable directory): the message cannot be filed back and stays in active/, where no scan
     * looks. Before, it waited there for the next start; now the regular scans file it back once
     * the spool takes changes again, and it is delivered, once, while mxd runs.
     */
    @Test
    void aMessageASpoolFaultLeftInActiveIsFiledBackOnceTheSpoolRecovers() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Path deferred = dir.resolve(QueueState.DEFERRED.directory());
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        AtomicInteger attempts = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean frozen = new java.util.concurrent.atomic.AtomicBoolean();
        DeliveryAgent counting = countingRemote(deliveries);
        DeliveryAgent remote = (e, text, rs) -> {
            if (attempts.incrementAndGet() == 1) {
                frozen.set(dev.mxd.testing.Chattr.change("+i", List.of(deferred)));
                return rs.stream().map(r -> (DeliveryResult) DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER, "try later")).toList();
            }
            return counting.deliver(e, text, rs);
        };
        try (dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO)) {
            try {
                queue = new QueueManager(spool, settings(), noLocalMail(), remote, noNotices(), Clock.systemUTC());
                queue.start();
                String id = ((StoreOutcome.Stored) spool.store(message("user@far.test"))).queueId();
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() == 1 && queue.idle());
                org.junit.jupiter.api.Assumptions.assumeTrue(frozen.get(), "chattr +i needs root on a file system with attributes");
                Thread.sleep(500); // several 100 ms scans while the spool refuses
                assertThat(spool.state(id)).as("left in active/ while deferred/ refuses it").contains(QueueState.ACTIVE);
                assertThat(log.lines()).anyMatch(l -> l.contains(id) && l.contains("cannot file it back as deferred"));
            } finally {
                if (frozen.get()) {
                    assertThat(dev.mxd.testing.Chattr.change("-i", List.of(deferred))).as("deferred/ made mutable again").isTrue();
                }
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> deliveries.containsKey("user@far.test") && empty(spool) && queue.idle());
            assertThat(deliveries.get("user@far.test").get()).isEqualTo(1);
            assertThat(attempts.get()).isEqualTo(2);
            assertThat(log.lines()).anyMatch(l -> l.contains("filed back from active/"));
        }
    }

    private static QueueManager.Settings settings() {
        return new QueueManager.Settings(2, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100);
    }

    private static boolean empty(Spool spool) throws Exception {
        return spool.count(QueueState.INCOMING) == 0 && spool.count(QueueState.ACTIVE) == 0 && spool.count(QueueState.DEFERRED) == 0;
    }

    private static DeliveryAgent countingRemote(Map<String, AtomicInteger> deliveries) {
        return (e, text, rs) -> rs.stream().map(r -> {
            deliveries.computeIfAbsent(r.recipient().address().toString(), k -> new AtomicInteger()).incrementAndGet();
            return (DeliveryResult) new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok", Optional.empty(), Optional.empty());
        }).toList();
    }

    private static DeliveryAgent noLocalMail() {
        return (e, text, rs) -> {
            throw new AssertionError("no local mail in this test");
        };
    }

    private static DeliveryNotices noNotices() {
        return (e, text, reported) -> {
            throw new AssertionError("nothing fails in this test: " + reported);
        };
    }

    private static ReceivedMessage message(String to) {
        return new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse(to), RcptParameters.NONE, new Route.Relay("far.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                "Subject: t\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
    }
}
