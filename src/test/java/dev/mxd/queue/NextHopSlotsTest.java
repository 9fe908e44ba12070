package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.MessageStore.StoreOutcome;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Domains relayed through one next hop (delivery.relay-host, a route) share that next hop's per-destination
 * slots, as Postfix's queue manager counts concurrency per next hop: mail for many domains behind one
 * smarthost opens at most concurrency-per-destination sessions to it. Before, each domain had slots of its
 * own, and four domains here opened eight sessions to a smarthost allowed two. A reload that changes the
 * next hop while deliveries run loses no slot (each delivery frees the slot it took), and the mail that waited
 * for the old next hop's slot is tried when it gets one, not put off until its next retry.
 */
class NextHopSlotsTest extends QueueManagerTestBase {

    /** The queue manager on {@code spool}, delivering to a stand-in for the smarthost that holds every delivery. */
    private HeldDeliveries start(Spool spool) throws Exception {
        HeldDeliveries relay = new HeldDeliveries(address -> true);
        // 8 workers, 2 slots a destination; a retry an hour away, so that mail put off instead of tried shows
        queue = new QueueManager(spool, new QueueManager.Settings(8, 2,
                new RetryPolicy(Duration.ofHours(1), Duration.ofHours(2), Duration.ofDays(5)), Duration.ofMillis(200), 100),
                (e, t, r) -> {
                    throw new AssertionError("no local mail in this test");
                }, relay.agent(), (e, t, r) -> { }, Clock.systemUTC());
        return relay;
    }

    private static void send(Spool spool) throws Exception {
        for (String domain : new String[] {"a.test", "b.test", "c.test", "d.test"}) {
            for (int i = 0; i < 3; i++) {
                assertThat(spool.store(DestinationBacklogTest.to("user" + i + "@" + domain))).isInstanceOf(StoreOutcome.Stored.class);
            }
        }
    }

    @Test
    void domainsBehindOneRelayShareItsSlots() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        HeldDeliveries relay = start(spool);
        queue.nextHopsFrom(domain -> Optional.of("[smarthost.test]:587"));
        queue.start();
        send(spool);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> relay.open.get() == 2);
        Thread.sleep(500); // time for more to open, were there room
        assertThat(relay.most.get()).as("sessions to the one relay at once").isEqualTo(2);

        // a reload sends the domains to their own MX hosts while two deliveries hold the relay's slots: new mail has
        // slots of its own at once; the mail waiting for the relay goes when a slot it waits for is freed, each
        // delivery freeing the one it took (none lost or counted twice, nothing stuck)
        queue.nextHopsFrom(domain -> Optional.empty());
        for (int i = 0; i < 2; i++) {
            assertThat(spool.store(DestinationBacklogTest.to("user" + i + "@e.test"))).isInstanceOf(StoreOutcome.Stored.class);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> relay.open.get() == 4);
        relay.mayGo.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> relay.delivered.size() == 14);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(queue::idle);
    }

    @Test
    void domainsDeliveredToTheirOwnMxHostsHaveSlotsEach() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        HeldDeliveries relay = start(spool);
        queue.start();
        send(spool);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> relay.open.get() == 8);
        relay.mayGo.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> relay.delivered.size() == 12);
    }
}
