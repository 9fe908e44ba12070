package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.queue.DeliveryEvent;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Maildir write that fails on the first attempt (issue 13, case 1), end to end: one message to
 * team@ (alias of alice and bob) and bob@, bob's Maildir unwritable at first. Every mailbox must
 * end with exactly one copy after the retry: bob is not counted as served by a write that
 * failed, and alice does not get a second copy when team@ is retried.
 */
class MaildirFailureTest {

    private TestMx mx;
    private final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.start("delivery:\n  retry: {first: 1s, max: 1s, give-up: 1h}\n  scan-interval: 200ms\n");
        mx.mx().queue().onDelivery(events::add);
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    @ParameterizedTest(name = "RCPT order {0}")
    @ValueSource(strings = {"team,bob", "bob,team"})
    void everyMailboxGetsExactlyOneCopyAfterAFailedWriteIsRetried(String order) throws Exception {
        // A regular file where bob's Maildir directory should be: creating tmp/ in it fails, even for root.
        Path bobMaildir = mx.mx().maildir("example.test", "bob");
        Files.createDirectories(bobMaildir.getParent());
        Files.writeString(bobMaildir, "not a directory");

        String[] rcpts = java.util.Arrays.stream(order.split(",")).map(r -> "<" + r + "@example.test>").toArray(String[]::new);
        String id = LocalRecipientsTest.send(mx, "partial failure", rcpts).strip();
        // The first attempt is over: something was deferred and the message filed for its retry.
        await().atMost(Duration.ofSeconds(20)).until(() -> !deferred(id).isEmpty()
                && mx.mx().spool().state(id).orElse(null) == dev.mxd.queue.QueueState.DEFERRED);
        Files.delete(bobMaildir);

        await().atMost(Duration.ofSeconds(30)).until(() -> mx.mx().spool().state(id).isEmpty());
        List<Path> alice = mx.delivered("alice");
        List<Path> bob = mx.delivered("bob");
        assertThat(alice).as("alice's copies").hasSize(1);
        assertThat(bob).as("bob's copies").hasSize(1);
        assertThat(Files.readString(bob.get(0), StandardCharsets.UTF_8)).contains("Subject: partial failure\n");
        // The failed attempt is logged as deferred for both recipients leading to bob, naming the mailbox.
        assertThat(deferred(id)).extracting(DeliveryEvent::recipient)
                .containsExactlyInAnyOrder("team@example.test", "bob@example.test");
        assertThat(deferred(id)).allSatisfy(e -> assertThat(e.logLine()).contains("dsn=4.3.0, status=deferred (maildir delivery failed: bob: ")
                // the file and why, not the file alone (the JDK's exception carried only the path)
                .containsPattern("maildir delivery failed: bob: /\\S+: [a-z]"));
        assertThat(events).filteredOn(e -> e.queueId().equals(id) && e.outcome() == DeliveryEvent.Outcome.SENT)
                .extracting(DeliveryEvent::recipient).containsExactlyInAnyOrder("team@example.test", "bob@example.test");
    }

    private List<DeliveryEvent> deferred(String id) {
        return events.stream().filter(e -> e.queueId().equals(id) && e.outcome() == DeliveryEvent.Outcome.DEFERRED).toList();
    }
}
