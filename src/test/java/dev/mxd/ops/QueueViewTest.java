package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import dev.mxd.queue.Envelope;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Paging the queue: one listing per state, merged oldest first, with offsets across states. */
class QueueViewTest {

    @TempDir
    Path dir;

    @Test
    void pagesMergeTheStatesOldestFirst() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        List<String> ids = new ArrayList<>();
        QueueState[] states = {QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD};
        for (int i = 0; i < 12; i++) {
            String id = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("m" + i))).queueId();
            QueueState to = states[i % 3];
            if (to != QueueState.INCOMING) {
                spool.move(id, QueueState.INCOMING, to);
            }
            ids.add(id);
            Thread.sleep(2); // ids carry the arrival time: each a later one
        }
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());

        JsonNode first = view.page(0, 5);
        assertThat(first.path("total").asInt()).isEqualTo(12);
        assertThat(first.path("states").path("deferred").asInt()).isEqualTo(4);
        assertThat(first.path("states").path("hold").asInt()).isEqualTo(4);
        assertThat(idsOf(first)).containsExactlyElementsOf(ids.subList(0, 5));
        assertThat(idsOf(view.page(5, 5))).containsExactlyElementsOf(ids.subList(5, 10));
        assertThat(idsOf(view.page(10, 5))).containsExactlyElementsOf(ids.subList(10, 12));
        assertThat(idsOf(view.page(12, 5))).isEmpty();
        assertThat(view.page(3, 1).path("messages").get(0).path("state").asText()).isEqualTo("incoming");
        assertThat(view.page(4, 1).path("messages").get(0).path("state").asText()).isEqualTo("deferred");
        assertThat(view.destinations().path("total").asInt()).isEqualTo(12);
    }

    /** A REQUIRETLS message is marked in the queue's view (and so in mxd queue show), as docs/operations.md says. */
    @Test
    void aRequireTlsMessageIsMarked() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        ReceivedMessage plain = message("plain");
        ReceivedMessage demanding = new ReceivedMessage(plain.sender(), MailParameters.NONE.withRequireTls(true), plain.recipients(),
                plain.client(), plain.arrival(), plain.content());
        String a = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(plain)).queueId();
        String b = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(demanding)).queueId();
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());
        assertThat(view.message(b).orElseThrow().path("requiretls").asBoolean()).isTrue();
        assertThat(view.message(a).orElseThrow().has("requiretls")).isFalse();
    }

    /**
     * A held message whose recipient's last attempt was deferred counts as held only in /api/destinations, as the states
     * count it once: it counted as deferred and held, so the status page's table added up to more than the queue.
     */
    @Test
    void aHeldMessageIsHeldNotAlsoDeferredInTheDestinations() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        String held = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("held"))).queueId();
        Envelope e = spool.envelope(QueueState.INCOMING, held);
        spool.update(QueueState.INCOMING, e.withRecipients(e.recipients().stream()
                .map(r -> r.with(dev.mxd.queue.DeliveryState.DEFERRED, "451 4.3.0 try later", Instant.now())).toList()));
        spool.move(held, QueueState.INCOMING, QueueState.HOLD);
        String deferred = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("deferred"))).queueId();
        spool.move(deferred, QueueState.INCOMING, QueueState.DEFERRED);
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());
        JsonNode d = view.destinations().path("destinations").get(0);
        assertThat(d.path("messages").asInt()).isEqualTo(2);
        assertThat(d.path("held").asInt()).isEqualTo(1);
        assertThat(d.path("deferred").asInt()).isEqualTo(1);
    }

    /**
     * One envelope that cannot be read (cut short by a failing disk, or put on hold by the queue
     * manager for that reason) does not make the queue unlistable: it is listed with why, and
     * everything else as usual.
     */
    @Test
    void anUnreadableEnvelopeIsListedWithTheReasonAndHidesNothingElse() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        String bad = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("bad"))).queueId();
        spool.move(bad, QueueState.INCOMING, QueueState.HOLD);
        java.nio.file.Files.writeString(dir.resolve(QueueState.HOLD.directory()).resolve(bad + ".json"), "{\"id\":");
        Thread.sleep(2);
        String good = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("good"))).queueId();
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());

        JsonNode page = view.page(0, 10);
        assertThat(idsOf(page)).containsExactly(bad, good);
        JsonNode listed = page.path("messages").get(0);
        assertThat(listed.path("state").asText()).isEqualTo("hold");
        assertThat(listed.path("envelope_error").asText()).startsWith("the envelope cannot be read: ");
        assertThat(listed.path("sender").isNull()).isTrue();
        assertThat(listed.path("recipients").isArray()).isTrue();
        assertThat(page.path("messages").get(1).has("envelope_error")).isFalse();
        assertThat(view.message(bad).orElseThrow().path("envelope_error").asText()).startsWith("the envelope cannot be read");
        assertThat(view.destinations().path("total").asInt()).isEqualTo(2);
    }

    /**
     * An envelope copied over another message's (a restore by hand): listed and shown as damaged, naming the id it holds.
     * It was counted in the total, left out of the listing, and "no such message" to show, while hold still worked on it.
     */
    @Test
    void anEnvelopeHoldingAnotherMessagesIdIsListedAsDamaged() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        String a = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("a"))).queueId();
        Thread.sleep(2);
        String b = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("b"))).queueId();
        spool.defer(a, QueueState.INCOMING, Instant.now().plusSeconds(600));
        spool.defer(b, QueueState.INCOMING, Instant.now().plusSeconds(600));
        java.nio.file.Path deferred = dir.resolve(QueueState.DEFERRED.directory());
        java.nio.file.Files.copy(deferred.resolve(a + ".json"), deferred.resolve(b + ".json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());

        JsonNode page = view.page(0, 10);
        assertThat(idsOf(page)).containsExactly(a, b);
        assertThat(page.path("messages").get(1).path("envelope_error").asText()).contains("holds the envelope of " + a);
        assertThat(view.message(b).orElseThrow().path("envelope_error").asText()).contains("holds the envelope of " + a);
    }

    @Test
    void aLargeQueuesListingIsReusedForAFewSeconds() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        String first = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("one"))).queueId();
        Instant[] now = {Instant.parse("2026-11-26T08:00:00Z")};
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now[0];
            }
        };
        // "Large" from one message here, so the test needs no ten thousand.
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, clock),
                new RecentEvents(10), clock, 1);
        assertThat(idsOf(view.page(0, 10))).containsExactly(first);
        String second = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("two"))).queueId();
        spool.finish(QueueState.INCOMING, first);
        now[0] = now[0].plusSeconds(5);
        JsonNode within = view.page(0, 10);
        assertThat(within.path("total").asInt()).as("the snapshot's count").isEqualTo(1);
        assertThat(idsOf(within)).as("a message gone since the listing is left out").isEmpty();
        now[0] = now[0].plus(QueueView.SNAPSHOT_FOR);
        JsonNode after = view.page(0, 10);
        assertThat(after.path("total").asInt()).isEqualTo(1);
        assertThat(idsOf(after)).containsExactly(second);
    }

    @Test
    void aSmallQueueIsListedAfreshEachTime() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        QueueView view = new QueueView(spool, new HostStatusTable(Duration.ofMinutes(1), Duration.ofHours(1), 100, Clock.systemUTC()),
                new RecentEvents(10), Clock.systemUTC());
        assertThat(view.page(0, 10).path("total").asInt()).isZero();
        String id = ((dev.mxd.mail.MessageStore.StoreOutcome.Stored) spool.store(message("now"))).queueId();
        assertThat(idsOf(view.page(0, 10))).containsExactly(id);
    }

    private static List<String> idsOf(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.path("messages").forEach(m -> out.add(m.path("id").asText()));
        return out;
    }

    private static ReceivedMessage message(String body) {
        return new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("alice@example.test"), RcptParameters.NONE, new Route.Local("example.test", List.of("alice")))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                (body + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }
}
