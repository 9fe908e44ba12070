package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.Engine;
import dev.mxd.config.MxdConfig;
import dev.mxd.filter.EngineResult;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quarantine's operations in each of the three places they run: on a data directory alone
 * (a release waits in released/), beside a server with its configuration (queued due now in
 * deferred/), and in the server's own process (queued in incoming/ for its queue manager).
 */
class QuarantineOperationsTest {

    @TempDir
    Path dataDir;

    private QuarantineEntry quarantined(String recipient) throws Exception {
        return new Quarantine(dataDir).store(MessageSource.of("Subject: x\r\n\r\nvirus here\r\n".getBytes(StandardCharsets.US_ASCII)),
                ScanEnvelope.of("Q9", "a@x.test", List.of(recipient)), "virus Local.EICAR.UNOFFICIAL (clamd)",
                List.of(new EngineResult.Infected(Engine.CLAMD, "Local.EICAR.UNOFFICIAL")), Instant.parse("2026-11-26T05:00:00Z"));
    }

    private MxdConfig config() throws Exception {
        Path file = Files.writeString(dataDir.resolve("mxd.yaml"), "data-dir: " + dataDir + "\ntrusted-networks: []\ndomains:\n  example.test:\n"
                + "    role: local\n    mailboxes: [b]\n    aliases: {postmaster: b}\n");
        return ConfigLoader.load(file);
    }

    @Test
    void listShowAndDeleteAreTheSameEverywhere() throws Exception {
        QuarantineOperations ops = QuarantineOperations.onDataDir(dataDir);
        QuarantineEntry e = quarantined("b@example.test");
        Quarantine.Page page = ops.list(0, 10);
        assertThat(page.entries()).extracting(QuarantineEntry::id).containsExactly(e.id());
        ObjectNode json = QuarantineOperations.pageJson(page.entries(), page.total(), 0, page.unreadable());
        assertThat(json.get("total").asInt()).isEqualTo(1);
        assertThat(json.get("offset").asInt()).isZero();
        assertThat(json.get("entries").get(0)).isEqualTo(e.toJson());

        QuarantineOperations.Shown shown = ops.show(e.id()).orElseThrow();
        assertThat(shown.entry()).isEqualTo(e);
        assertThat(Files.readString(shown.text())).isEqualTo("Subject: x\r\n\r\nvirus here\r\n");
        assertThat(ops.show("not-an-id")).isEmpty();

        assertThat(ops.delete(e.id())).isTrue();
        assertThat(ops.delete(e.id())).isFalse();
        assertThat(ops.show(e.id())).isEmpty();
        assertThat(ops.directory()).isEqualTo(dataDir.resolve("quarantine"));
    }

    @Test
    void onADataDirectoryAReleaseWaitsInReleasedForTheNextStart() throws Exception {
        QuarantineOperations ops = QuarantineOperations.onDataDir(dataDir);
        QuarantineEntry e = quarantined("b@example.test");
        QuarantineRelease.Outcome o = ops.release(e.id());
        assertThat(o).isInstanceOf(QuarantineRelease.Outcome.Parked.class);
        QuarantineRelease.Outcome.Parked parked = (QuarantineRelease.Outcome.Parked) o;
        assertThat(parked.entry()).isEqualTo(e);
        assertThat(parked.messageFile()).isEqualTo(dataDir.resolve("quarantine/released").resolve(e.id() + ".eml"));
        assertThat(ops.list(0, 10).total()).isZero();
        // released again before a start: still waiting, not lost and not "no entry"
        assertThat(ops.release(e.id())).isInstanceOf(QuarantineRelease.Outcome.Parked.class);
        assertThat(ops.release("20261126T050000000Z-00000000")).isInstanceOf(QuarantineRelease.Outcome.NotFound.class);
        ops.resumePending(); // nothing to resume outside a server
        assertThat(new Quarantine(dataDir).pendingReleases()).hasSize(1);
    }

    @Test
    void besideAServerAReleaseIsQueuedDueNow() throws Exception {
        MxdConfig config = config();
        QuarantineOperations ops = QuarantineOperations.beside(config, Clock.systemUTC());
        QuarantineEntry e = quarantined("b@example.test");
        QuarantineRelease.Outcome o = ops.release(e.id());
        assertThat(o).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        String queueId = ((QuarantineRelease.Outcome.Queued) o).queueId();
        Spool spool = Spool.attach(dataDir.resolve("spool"), config.hostname(), Clock.systemUTC());
        assertThat(spool.state(queueId)).contains(QueueState.DEFERRED);
        assertThat(ops.release(e.id())).isInstanceOf(QuarantineRelease.Outcome.NotFound.class);

        QuarantineEntry nobody = quarantined("c@example.test");
        assertThat(ops.release(nobody.id())).isInstanceOf(QuarantineRelease.Outcome.NoRecipients.class);
        assertThat(ops.show(nobody.id())).isPresent();
    }

    /**
     * A release beside a server commits and hands over under the spool's attach lock: while a start's recovery holds it
     * (here a python holding the same POSIX lock alone), the release waits, then queues the message. Without the lock a
     * start could list the envelopes before the commit, meet the text after and delete it as never acknowledged.
     */
    @Test
    void besideAServerAReleaseWaitsWhileAStartRecovers() throws Exception {
        MxdConfig config = config();
        QuarantineOperations ops = QuarantineOperations.beside(config, Clock.systemUTC());
        QuarantineEntry e = quarantined("b@example.test");
        Spool.open(dataDir.resolve("spool"), config.hostname(), Clock.systemUTC()); // the spool and its lock file exist
        Process recovering = new ProcessBuilder("python3", "-c", "import fcntl,sys\nf=open(sys.argv[1],'a+')\n"
                + "fcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n",
                dataDir.resolve("spool").resolve("attach.lock").toString()).redirectErrorStream(true).start();
        try {
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(recovering.getInputStream())).readLine())
                    .isEqualTo("held");
            java.util.concurrent.CompletableFuture<QuarantineRelease.Outcome> release =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return ops.release(e.id());
                        } catch (java.io.IOException x) {
                            throw new java.io.UncheckedIOException(x);
                        }
                    });
            Thread.sleep(700);
            assertThat(release).as("the release waits while a start recovers").isNotDone();
            Spool spool = Spool.attach(dataDir.resolve("spool"), config.hostname(), Clock.systemUTC());
            for (QueueState q : QueueState.values()) {
                assertThat(spool.ids(q)).as("nothing committed while the start recovers: %s", q).isEmpty();
            }
            assertThat(ops.show(e.id())).as("still in the quarantine").isPresent();
            recovering.getOutputStream().close();
            assertThat(release.get(20, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        } finally {
            recovering.destroyForcibly();
        }
    }

    @Test
    void inTheServerAReleaseGoesToItsQueueAndParkedOnesAreResumed() throws Exception {
        MxdConfig config = config();
        QuarantineEntry parked = quarantined("b@example.test");
        QuarantineOperations.onDataDir(dataDir).release(parked.id());
        QuarantineEntry e = quarantined("b@example.test");
        Spool spool = Spool.open(dataDir.resolve("spool"), config.hostname(), Clock.systemUTC());
        QuarantineOperations ops = QuarantineOperations.inServer(new Quarantine(dataDir), spool, new DomainPolicy(config),
                Clock.systemUTC());
        ops.resumePending();
        assertThat(new Quarantine(dataDir).pendingReleases()).isEmpty();
        QuarantineRelease.Outcome o = ops.release(e.id());
        assertThat(o).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        assertThat(spool.state(((QuarantineRelease.Outcome.Queued) o).queueId())).contains(QueueState.INCOMING);
    }
}
