package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.EnhancedStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A message for several domains is delivered to each of them at once, as Postfix's queue manager
 * does: one domain whose server is slow (a tarpit: five minutes a greeting, for each of its MX
 * hosts) must not hold back the copies for the others. Before, the domains were attempted one
 * after another by the message's one thread.
 */
class ParallelDestinationsTest extends QueueManagerTestBase {

    @Test
    void aSlowDomainDoesNotHoldBackTheOthers() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        CountDownLatch slowServer = new CountDownLatch(1);
        Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
        DeliveryAgent remote = (e, text, rs) -> {
            if (rs.get(0).recipient().address().domain().equals("slow.test")) {
                try {
                    slowServer.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                }
            }
            return rs.stream().map(r -> {
                return counted(copies, r.recipient().address().toString());
            }).toList();
        };
        startWithoutNotices(spool, remote);
        store(spool, relayed("a@slow.test"), relayed("b@fast.test"), relayed("c@quick.test"));

        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> copies.containsKey("b@fast.test") && copies.containsKey("c@quick.test"));
        assertThat(copies).as("the slow domain still has its server's greeting to come").doesNotContainKey("a@slow.test");
        // recorded on disk as soon as known, not when the slow one ends: a crash or stop now must not deliver them again
        String id = spool.ids(QueueState.ACTIVE).get(0);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> spool.envelope(QueueState.ACTIVE, id).recipients().stream()
                .filter(r -> r.state() == DeliveryState.DELIVERED).count() == 2);
        slowServer.countDown();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> queue.idle() && drained(spool));
        assertThat(copies.keySet()).containsExactlyInAnyOrder("a@slow.test", "b@fast.test", "c@quick.test");
        assertThat(copies.values()).as("one copy each").allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
    }

    /**
     * A message for one domain whose delivery is interrupted by a stop (the pool shut down after
     * its grace) once the next hop took one recipient and deferred the other: both outcomes are
     * written to disk. Before, the write failed on the interrupted thread (only the path for
     * several domains cleared it), the outcomes stayed in memory, and after the restart the
     * delivered recipient got a second copy.
     */
    @Test
    void aStopsInterruptDoesNotKeepOneDomainsOutcomesFromTheDisk() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        DeliveryAgent remote = (e, text, rs) -> {
            Thread.currentThread().interrupt(); // the stop arrives while the server answers
            return rs.stream().map(r -> r.recipient().address().localPart().equals("later")
                    ? (DeliveryResult) DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER, "451 try later")
                    : goneFailsOthersDelivered(r.recipient().address().toString())).toList();
        };
        startRemoteOnly(spool, remote, (e, text, reported) -> {
            throw new AssertionError("nothing fails here: " + reported);
        }, retriesAnHourAway());
        store(spool, relayed("now@one.test"), relayed("later@one.test"));

        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> spool.count(QueueState.DEFERRED) == 1 && queue.idle());
        String id = spool.ids(QueueState.DEFERRED).get(0);
        assertThat(spool.envelope(QueueState.DEFERRED, id).recipients()).extracting(r -> r.recipient().address().localPart(), RecipientStatus::state)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("now", DeliveryState.DELIVERED),
                        org.assertj.core.groups.Tuple.tuple("later", DeliveryState.DEFERRED));
    }

    /**
     * Domains at once, and one of them ends in an exception (an agent's bug) while another
     * failed a recipient and a third delivered: the failure's notice goes out once, nothing
     * delivered is delivered again, and the domain that threw is tried again.
     */
    @Test
    void oneDomainThatThrowsKeepsTheOthersOutcomes() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
        AtomicInteger brokenCalls = new AtomicInteger();
        CountDownLatch othersDone = new CountDownLatch(2);
        DeliveryAgent remote = (e, text, rs) -> {
            String domain = rs.get(0).recipient().address().domain();
            if (domain.equals("broken.test") && brokenCalls.incrementAndGet() == 1) {
                try {
                    othersDone.await(10, TimeUnit.SECONDS); // the others' outcomes are in before this one throws
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException("an agent's bug, once");
            }
            List<DeliveryResult> results = rs.stream().map(r -> counted(attempts, r.recipient().address().toString())).toList();
            othersDone.countDown();
            return results;
        };
        List<List<String>> notices = new CopyOnWriteArrayList<>();
        start(spool, remote, (e, text, reported) -> notices.add(reported.stream()
                .map(r -> r.recipient().address().toString()).toList()));
        store(spool, relayed("x@broken.test"), relayed("gone@nope.test"), relayed("here@fine.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> brokenCalls.get() >= 2 && queue.idle() && drained(spool));
        assertThat(notices).containsExactly(List.of("gone@nope.test"));
        assertThat(attempts.get("gone@nope.test").get()).as("attempts of the failed recipient").isEqualTo(1);
        assertThat(attempts.get("here@fine.test").get()).as("copies of the delivered one").isEqualTo(1);
        assertThat(attempts.get("x@broken.test").get()).as("the domain that threw, tried again").isEqualTo(1);
    }

    /**
     * An agent that breaks the contract for one domain (a null result) while another domain of the
     * message is delivered: the delivered one is recorded all the same and never sent again; the
     * broken one is tried again.
     */
    @Test
    void aBrokenResultForOneDomainLosesNotTheOthersOutcome() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
        AtomicInteger brokenCalls = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            if (rs.get(0).recipient().address().domain().equals("broken.test") && brokenCalls.incrementAndGet() == 1) {
                java.util.List<DeliveryResult> none = new java.util.ArrayList<>();
                none.add(null);
                return none;
            }
            return rs.stream().map(r -> {
                return counted(copies, r.recipient().address().toString());
            }).toList();
        };
        startWithoutNotices(spool, remote);
        store(spool, relayed("x@broken.test"), relayed("here@fine.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> brokenCalls.get() >= 2 && queue.idle() && drained(spool));
        assertThat(copies.get("here@fine.test").get()).as("copies of the delivered one").isEqualTo(1);
        assertThat(copies.get("x@broken.test").get()).isEqualTo(1);
    }

    /**
     * No result for one recipient of a group whose other recipient was delivered: the whole group was
     * thrown away (the delivered one logged as sent, then sent again). Now each recipient keeps its
     * own result; the one without is deferred and tried again.
     */
    @Test
    void aMissingResultForOneRecipientKeepsTheOthersOfItsGroup() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
        AtomicInteger calls = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            boolean broken = calls.incrementAndGet() == 1;
            java.util.List<DeliveryResult> out = new java.util.ArrayList<>();
            for (RecipientStatus r : rs) {
                String address = r.recipient().address().toString();
                if (broken && address.startsWith("second@")) {
                    out.add(null);
                    continue;
                }
                out.add(counted(copies, address));
            }
            return out;
        };
        startWithoutNotices(spool, remote);
        store(spool, relayed("first@one.test"), relayed("second@one.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> calls.get() >= 2 && queue.idle() && drained(spool));
        assertThat(copies.get("first@one.test").get()).as("copies of the one that had its result").isEqualTo(1);
        assertThat(copies.get("second@one.test").get()).isEqualTo(1);
    }

    /** The scripted next hop's answer for {@code address}, counted as a copy. */
    private static DeliveryResult counted(Map<String, AtomicInteger> copies, String address) {
        copies.computeIfAbsent(address, k -> new AtomicInteger()).incrementAndGet();
        return goneFailsOthersDelivered(address);
    }

    /** As {@link #start}, for tests where nothing fails, so no notice is due. */
    private void startWithoutNotices(Spool spool, DeliveryAgent remote) throws java.io.IOException {
        start(spool, remote, (e, text, reported) -> {
            throw new AssertionError("nothing fails here: " + reported);
        });
    }

    /** As {@link #startRemoteOnly}, with ten deliveries at once: room for every domain of the message. */
    private void start(Spool spool, DeliveryAgent remote, DeliveryNotices notices) throws java.io.IOException {
        startRemoteOnly(spool, remote, notices, new QueueManager.Settings(10, 2,
                new RetryPolicy(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofHours(1)), Duration.ofMillis(100), 100));
    }
}
