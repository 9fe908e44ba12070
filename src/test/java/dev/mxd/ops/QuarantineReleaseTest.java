package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Releasing quarantined messages through the server's admin API and the command's own path, at the same time. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class QuarantineReleaseTest {

    static final int ENTRIES = 40;

    /**
     * Each entry is released three times at once: twice by the server's admin API (two handler
     * threads), once as {@code mxd quarantine release --config} does without an admin listener
     * (its own QuarantineRelease, due now in deferred/). Exactly one release queues it and alice's
     * Maildir gets exactly one copy of each message.
     */
    @Test
    void concurrentReleasesOfOneEntryDeliverExactlyOneCopy() throws Exception {
        try (TestMx mx = TestMx.startWithAdmin("delivery:\n  scan-interval: 1s\n")) {
            Path dataDir = mx.mx().config().dataDir();
            Quarantine q = new Quarantine(dataDir);
            AdminHttp admin = new AdminHttp(mx);
            QuarantineRelease command = new QuarantineRelease(q, Spool.attach(dataDir.resolve("spool"),
                    mx.mx().config().hostname(), Clock.systemUTC()), new DomainPolicy(mx.mx().config()), Clock.systemUTC(),
                    QuarantineRelease.HandOver.DEFERRED_NOW);
            ExecutorService pool = Executors.newFixedThreadPool(3);
            int queued = 0;
            List<String> problems = new ArrayList<>();
            try {
                for (int i = 0; i < ENTRIES; i++) {
                    QuarantineEntry e = q.store(MessageSource.of(("Subject: release " + i + "\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII)),
                            ScanEnvelope.of("Q" + i, "carol@client.test", List.of("alice@example.test")), "spam", List.of(), Instant.now());
                    CyclicBarrier start = new CyclicBarrier(3);
                    String path = "/api/quarantine/" + e.id() + "/release";
                    List<Future<Boolean>> releases = List.of(
                            pool.submit(() -> { start.await(); return admin.send("POST", path).status() == 200; }),
                            pool.submit(() -> { start.await(); return admin.send("POST", path).status() == 200; }),
                            pool.submit(() -> { start.await(); return command.release(e.id()) instanceof QuarantineRelease.Outcome.Queued; }));
                    int n = 0;
                    for (Future<Boolean> r : releases) {
                        try {
                            n += r.get(60, TimeUnit.SECONDS) ? 1 : 0;
                        } catch (ExecutionException failed) {
                            problems.add(e.id() + ": a release failed: " + failed.getCause());
                        }
                    }
                    queued += n;
                    if (n != 1) {
                        problems.add(e.id() + " queued " + n + " times");
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            // everything queued is delivered (the deferred ones at the next 1 s scan); then count the copies
            await().atMost(Duration.ofSeconds(60)).until(() -> mx.delivered("alice").size() >= ENTRIES
                    && mx.mx().spool().count(QueueState.INCOMING) + mx.mx().spool().count(QueueState.ACTIVE)
                    + mx.mx().spool().count(QueueState.DEFERRED) == 0);
            List<String> subjects = new ArrayList<>();
            for (Path f : mx.delivered("alice")) {
                String text = Files.readString(f, StandardCharsets.UTF_8);
                subjects.add(text.substring(text.indexOf("Subject: ")).lines().findFirst().orElseThrow());
            }
            assertThat(subjects).as("Subject lines in alice's Maildir").doesNotHaveDuplicates().hasSize(ENTRIES);
            assertThat(problems).isEmpty();
            assertThat(queued).isEqualTo(ENTRIES);
            assertThat(q.list(0, 10).total()).isZero();
            assertThat(q.pendingReleases()).isEmpty();
        }
    }
}
