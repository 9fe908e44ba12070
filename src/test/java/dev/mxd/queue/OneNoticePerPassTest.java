package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A message whose recipients at several domains fail in the same pass gets one notice naming them
 * all, as Postfix's queue manager sends one bounce per message and pass; before, each domain's
 * attempt sent its own, so the sender got one bounce per domain.
 */
class OneNoticePerPassTest extends QueueManagerTestBase {

    private final List<List<String>> notices = new CopyOnWriteArrayList<>();
    private final DeliveryNotices notify = (e, text, reported) -> notices.add(reported.stream()
            .map(r -> r.recipient().address().toString()).toList());

    @Test
    void failuresAtSeveralDomainsGoInOneNotice() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        List<String> delivered = new CopyOnWriteArrayList<>();
        DeliveryAgent remote = (e, text, rs) -> rs.stream().map(r -> {
            String address = r.recipient().address().toString();
            DeliveryResult result = goneFailsOthersDelivered(address);
            if (result instanceof DeliveryResult.Delivered) {
                delivered.add(address);
            }
            return result;
        }).toList();
        startRemoteOnly(spool, remote, notify);
        store(spool, relayed("gone@x.test"), relayed("here@y.test"), relayed("gone@z.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !notices.isEmpty() && queue.idle() && drained(spool));
        assertThat(notices).singleElement().satisfies(n -> assertThat(n).containsExactlyInAnyOrder("gone@x.test", "gone@z.test"));
        assertThat(delivered).containsExactly("here@y.test");
    }

    /**
     * A later destination that throws (an agent's bug, an Error) after an earlier one failed a
     * recipient: the notice owed and the real states stay in memory, so the next attempt sends
     * that notice and records the failure before it delivers anything; the failed recipient is
     * not tried again, and no recipient is delivered twice.
     */
    @Test
    void aLaterDestinationThatThrowsLosesNoNoticeAndRetriesNothingDone() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
        AtomicInteger yCalls = new AtomicInteger();
        DeliveryAgent remote = (e, text, rs) -> {
            if (rs.get(0).recipient().address().domain().equals("y.test") && yCalls.incrementAndGet() == 1) {
                throw new IllegalStateException("an agent's bug, once");
            }
            return rs.stream().map(r -> {
                String address = r.recipient().address().toString();
                attempts.computeIfAbsent(address, k -> new AtomicInteger()).incrementAndGet();
                return goneFailsOthersDelivered(address);
            }).toList();
        };
        startRemoteOnly(spool, remote, notify);
        store(spool, relayed("gone@x.test"), relayed("here@y.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> yCalls.get() >= 2 && queue.idle() && drained(spool));
        assertThat(notices).containsExactly(List.of("gone@x.test"));
        assertThat(attempts.get("gone@x.test").get()).as("attempts of the failed recipient").isEqualTo(1);
        assertThat(attempts.get("here@y.test").get()).as("copies of the delivered one").isEqualTo(1);
    }

    /**
     * One destination throws while another failed a recipient: the pass's notice and the states it
     * tells of are written at once, not kept in memory until the next attempt (an hour away here, or
     * an operator away on hold): a restart meanwhile would have tried the failed recipient again
     * with its earlier state on disk.
     */
    @Test
    void theOwedNoticeIsWrittenAtOnceWhenADestinationThrows() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        DeliveryAgent remote = (e, text, rs) -> {
            if (rs.get(0).recipient().address().domain().equals("y.test")) {
                throw new IllegalStateException("an agent's bug");
            }
            return rs.stream().map(r -> goneFailsOthersDelivered(r.recipient().address().toString())).toList();
        };
        startRemoteOnly(spool, remote, notify, retriesAnHourAway());
        store(spool, relayed("gone@x.test"), relayed("here@y.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> spool.count(QueueState.DEFERRED) == 1 && queue.idle());
        assertThat(notices).as("the notice, sent in this attempt").containsExactly(List.of("gone@x.test"));
        String id = spool.ids(QueueState.DEFERRED).get(0);
        assertThat(spool.envelope(QueueState.DEFERRED, id).recipients()).as("the failed recipient's state on disk")
                .anySatisfy(r -> {
                    assertThat(r.recipient().address().toString()).isEqualTo("gone@x.test");
                    assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
                });
    }

    /**
     * The notice fails once with a fault of mxd's (not of the spool), after every recipient ended:
     * written again at once, the message is then finished and removed. (Filed by its age instead,
     * its envelope on disk from before the attempt, a restart would have tried and told again.)
     */
    @Test
    void aNoticeThatFailsOnceOnAFinishedMessageEndsIt() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        AtomicInteger noticeCalls = new AtomicInteger();
        DeliveryNotices flaky = (e, text, reported) -> {
            if (noticeCalls.incrementAndGet() == 1) {
                throw new IllegalStateException("a fault of the notice writer, once");
            }
            notify.send(e, text, reported);
        };
        DeliveryAgent remote = (e, text, rs) -> rs.stream().map(r -> goneFailsOthersDelivered(r.recipient().address().toString())).toList();
        startRemoteOnly(spool, remote, flaky, retriesAnHourAway());
        store(spool, relayed("gone@x.test"), relayed("gone@z.test"));

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> queue.idle() && drained(spool));
        assertThat(notices).as("one notice, sent at the second try").hasSize(1);
    }
}
