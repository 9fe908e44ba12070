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
    /** A quarantine holding one entry for alice@example.test (Subject {@code subject}), a spool, and a release from another process. */
    private record Staged(MxdConfig config, Quarantine q, QuarantineEntry entry, Spool spool, QuarantineRelease release) {}

    private static Staged staged(Path dir, String subject) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        QuarantineEntry entry = q.store(MessageSource.of(("Subject: " + subject + "\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII)),
                ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test")), "spam", List.of(), Instant.now());
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        return new Staged(config, q, entry, spool, new QuarantineRelease(q, spool, new DomainPolicy(config), clock,
                QuarantineRelease.HandOver.DEFERRED_NOW));
    }

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

    /**
     * An entry quarantined before mxd kept the SMTPUTF8 flag: a header section that is not ASCII
     * needs SMTPUTF8 onward (RFC 6531 §3.4) even when the addresses are ASCII; 8-bit octets only in
     * the body need BODY=8BITMIME (RFC 6152), not SMTPUTF8.
     */
    /**
     * A quarantined text is kept as it came; at its release a sender's own verdict fields (X-Spam-Status: No, X-Spam-Flag:
     * NO, folded too) are dropped, as from mail the filter lets through. They reached the mailbox, where the reader's
     * client took the spam the operator released for "not spam".
     */
    @Test
    void aReleasedTextLosesTheSendersVerdictFields(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        ScanEnvelope env = ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test"));
        QuarantineEntry held = q.store(MessageSource.of(("X-Spam-Status: No, score=-5.0\r\n\trequired=5.0\r\nX-Spam-Flag: NO\r\n"
                + "Subject: cheap\r\n\r\nX-Spam-Flag: NO stays in the body\r\n").getBytes(StandardCharsets.US_ASCII)),
                env, "spam score 12.0", List.of(), Instant.now());
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease release = new QuarantineRelease(q, spool, new DomainPolicy(config), clock, QuarantineRelease.HandOver.DEFERRED_NOW);

        String id = ((QuarantineRelease.Outcome.Queued) release.release(held.id())).queueId();
        String text = new String(java.nio.file.Files.readAllBytes(spool.text(id)), StandardCharsets.US_ASCII);
        assertThat(text).contains("Subject: cheap\r\n",
                "\r\n\r\nX-Spam-Flag: NO stays in the body\r\n");
        assertThat(text.substring(0, text.indexOf("\r\n\r\n"))).doesNotContain("X-Spam").doesNotContain("required=");
    }

    @Test
    void anOlderEntryWithUtf8HeadersIsReleasedWithSmtputf8(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        ScanEnvelope env = ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test"));
        QuarantineEntry utf8Headers = q.store(MessageSource.of("Subject: Gr\u00fc\u00dfe\r\n\r\nhi\r\n".getBytes(StandardCharsets.UTF_8)),
                env, "virus", List.of(), Instant.now());
        QuarantineEntry utf8Body = q.store(MessageSource.of("Subject: hello\r\n\r\nGr\u00fc\u00dfe\r\n".getBytes(StandardCharsets.UTF_8)),
                env, "virus", List.of(), Instant.now());
        assertThat(utf8Headers.received()).isEmpty(); // as an entry written before the flag was kept
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease release = new QuarantineRelease(q, spool, new DomainPolicy(config), clock, QuarantineRelease.HandOver.DEFERRED_NOW);

        String first = ((QuarantineRelease.Outcome.Queued) release.release(utf8Headers.id())).queueId();
        assertThat(spool.envelope(QueueState.DEFERRED, first).parameters())
                .satisfies(p -> assertThat(p.smtputf8()).as("SMTPUTF8").isTrue())
                .satisfies(p -> assertThat(p.body()).isEqualTo(MailParameters.Body.EIGHT_BIT_MIME));
        String second = ((QuarantineRelease.Outcome.Queued) release.release(utf8Body.id())).queueId();
        assertThat(spool.envelope(QueueState.DEFERRED, second).parameters())
                .satisfies(p -> assertThat(p.smtputf8()).as("SMTPUTF8").isFalse())
                .satisfies(p -> assertThat(p.body()).isEqualTo(MailParameters.Body.EIGHT_BIT_MIME));
    }

    /**
     * The spool does not take the released message (staged with an immutable incoming/, which even
     * root cannot add to): the release fails, and the entry is back in the quarantine under its id,
     * where list, show and delete see it; a later release goes through. Before, it stayed in
     * released/, which no command showed or could delete, and the next start released it anyway.
     */
    @Test
    void aReleaseTheSpoolRefusesPutsTheEntryBack(@TempDir Path dir) throws Exception {
        Staged st = staged(dir, "held");
        Quarantine q = st.q();
        QuarantineEntry entry = st.entry();
        Spool spool = st.spool();
        QuarantineRelease release = st.release();
        List<Path> incoming = List.of(spool.root().resolve(QueueState.INCOMING.directory()));
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", incoming),
                "chattr +i needs root on a file system with attributes");
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> release.release(entry.id()))
                    .isInstanceOf(java.io.IOException.class)
                    .hasMessageContaining("the entry is back in the quarantine as " + entry.id());
        } finally {
            assertThat(dev.mxd.testing.Chattr.change("-i", incoming)).isTrue();
        }
        assertThat(q.pendingReleases()).as("nothing left for the next start to release").isEmpty();
        assertThat(q.find(entry.id())).as("listed, shown and deletable under its id").isPresent();
        assertThat(spool.count(QueueState.INCOMING) + spool.count(QueueState.DEFERRED)).isZero();
        assertThat(release.release(entry.id())).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        assertThat(spool.count(QueueState.DEFERRED)).isEqualTo(1);
        assertThat(q.find(entry.id())).isEmpty();
    }

    /** RFC 8689: a message quarantined with REQUIRETLS is released with it, never with less protection than asked for. */
    @Test
    void aRequireTlsMessageIsReleasedWithRequireTls(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        ScanEnvelope env = ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test"));
        MailParameters requireTls = new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.SEVEN_BIT, false,
                java.util.Optional.empty(), java.util.Optional.empty()).withRequireTls(true);
        QuarantineEntry entry = q.store(MessageSource.of("Subject: secret\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII)),
                env, requireTls, "spam", List.of(), Instant.now());
        assertThat(q.find(entry.id()).orElseThrow().received()).contains(new QuarantineEntry.Received(false, false, true));
        QuarantineEntry plain = q.store(MessageSource.of("Subject: plain\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII)),
                env, requireTls.withRequireTls(false), "spam", List.of(), Instant.now());
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease release = new QuarantineRelease(q, spool, new DomainPolicy(config), clock, QuarantineRelease.HandOver.DEFERRED_NOW);
        String id = ((QuarantineRelease.Outcome.Queued) release.release(entry.id())).queueId();
        assertThat(spool.envelope(QueueState.DEFERRED, id).parameters().requireTls()).as("REQUIRETLS after release").isTrue();
        String other = ((QuarantineRelease.Outcome.Queued) release.release(plain.id())).queueId();
        assertThat(spool.envelope(QueueState.DEFERRED, other).parameters().requireTls()).isFalse();
    }

    /**
     * RFC 3461: a release asks for the notices the sender asked for: each recipient's NOTIFY and ORCPT, and the
     * message's RET and ENVID, are kept in the entry and given to the spool (a NOTIFY=NEVER sender got bounces of a
     * released message, a NOTIFY=SUCCESS one no success notice).
     */
    @Test
    void aReleaseKeepsTheSendersDsnParameters(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        MailParameters mail = new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.SEVEN_BIT, false,
                java.util.Optional.of(dev.mxd.smtp.DsnReturn.HDRS), java.util.Optional.of("env-42"));
        List<dev.mxd.smtp.RcptParameters> dsn = List.of(
                new dev.mxd.smtp.RcptParameters(java.util.Set.of(dev.mxd.smtp.DsnNotify.NEVER), java.util.Optional.empty()),
                new dev.mxd.smtp.RcptParameters(java.util.Set.of(dev.mxd.smtp.DsnNotify.SUCCESS, dev.mxd.smtp.DsnNotify.FAILURE),
                        java.util.Optional.of("rfc822;bob@old.example")));
        QuarantineEntry entry = q.store(MessageSource.of("Subject: dsn\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII)),
                ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test", "bob@example.test")), mail, dsn, "spam",
                List.of(), Instant.now());
        assertThat(q.find(entry.id()).orElseThrow().recipientDsn()).as("kept in the entry's file").isEqualTo(dsn);
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease release = new QuarantineRelease(q, spool, new DomainPolicy(config), clock, QuarantineRelease.HandOver.DEFERRED_NOW);
        String id = ((QuarantineRelease.Outcome.Queued) release.release(entry.id())).queueId();
        dev.mxd.queue.Envelope e = spool.envelope(QueueState.DEFERRED, id);
        assertThat(e.recipients()).extracting(r -> r.recipient().dsn()).isEqualTo(dsn);
        assertThat(e.parameters().ret()).contains(dev.mxd.smtp.DsnReturn.HDRS);
        assertThat(e.parameters().envid()).contains("env-42");
    }

    /**
     * A recipient the configuration no longer accepts is not dropped by a release: it stays in the
     * quarantine in an entry of its own (the text, sender and reason kept), the others are queued.
     * A release a crash cut short whose recipients are all refused now goes back into the quarantine
     * where list and release see it (it stayed in released/, out of sight).
     */
    @Test
    void recipientsTheConfigurationNoLongerAcceptsStayInTheQuarantine(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse(TestMx.yaml(dir.resolve("data"), 2525, ""), dir.resolve("mxd.yaml"));
        Quarantine q = new Quarantine(config.dataDir());
        byte[] text = "Subject: held\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII);
        QuarantineEntry entry = q.store(MessageSource.of(text),
                ScanEnvelope.of("Q1", "carol@client.test", List.of("alice@example.test", "gone@example.test")), "spam", List.of(),
                Instant.now());
        Clock clock = Clock.systemUTC();
        Spool spool = Spool.open(config.dataDir().resolve("spool"), config.hostname(), clock);
        QuarantineRelease release = new QuarantineRelease(q, spool, new DomainPolicy(config), clock, QuarantineRelease.HandOver.DEFERRED_NOW);

        QuarantineRelease.Outcome.Queued queued = (QuarantineRelease.Outcome.Queued) release.release(entry.id());
        assertThat(spool.envelope(QueueState.DEFERRED, queued.queueId()).recipients())
                .extracting(r -> r.recipient().address().toString()).containsExactly("alice@example.test");
        assertThat(queued.refused()).singleElement().satisfies(r -> assertThat(r).startsWith("gone@example.test"));
        QuarantineEntry kept = queued.kept().orElseThrow();
        assertThat(q.find(entry.id())).isEmpty();
        assertThat(q.find(kept.id())).hasValueSatisfying(k -> {
            assertThat(k.recipients()).containsExactly("gone@example.test");
            assertThat(k.sender()).isEqualTo("carol@client.test");
            assertThat(k.reason()).isEqualTo("spam");
        });
        assertThat(Files.readAllBytes(q.messageFile(kept.id()))).isEqualTo(text);
        // A release repeated after a crash (the entry still in released/) finds the entry it kept: no second copy.
        assertThat(q.keep(new Quarantine.Released(entry, q.messageFile(kept.id())), List.of(1)).id())
                .isEqualTo(kept.id());
        assertThat(q.list(0, 10).total()).isEqualTo(1);

        // A release cut short (in released/) whose only recipient is refused now: back into the quarantine, listed.
        QuarantineEntry lone = q.store(MessageSource.of(text), ScanEnvelope.of("Q2", "carol@client.test",
                List.of("nobody@example.test")), "virus", List.of(), Instant.now());
        assertThat(q.release(lone.id())).isPresent();
        release.resumePending();
        assertThat(q.pendingReleases()).isEmpty();
        assertThat(q.list(0, 10).entries()).extracting(QuarantineEntry::recipients)
                .contains(List.of("nobody@example.test"), List.of("gone@example.test"));
    }

    /**
     * The spool took the released copy, and filing it from incoming/ into deferred/ fails (deferred/ made immutable):
     * the message is queued, so the release is finished and says so, and nothing is left for the next start to
     * release again. Before, the release failed with the I/O error, the entry stayed in released/, the running server
     * delivered the copy from incoming/ and the next start released it once more (two copies delivered).
     */
    @Test
    void aReleaseWhoseCopyCannotBeFiledInDeferredIsQueuedOnceAndFinished(@TempDir Path dir) throws Exception {
        Staged st = staged(dir, "stuck");
        Quarantine q = st.q();
        QuarantineEntry entry = st.entry();
        Spool spool = st.spool();
        List<Path> deferred = List.of(spool.root().resolve(QueueState.DEFERRED.directory()));
        spool.onAccepted(id -> org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", deferred),
                "chattr +i needs root on a file system with attributes"));
        QuarantineRelease release = st.release();
        QuarantineRelease.Outcome outcome;
        try {
            outcome = release.release(entry.id());
        } finally {
            dev.mxd.testing.Chattr.change("-i", deferred);
        }
        assertThat(outcome).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        assertThat(spool.state(((QuarantineRelease.Outcome.Queued) outcome).queueId())).contains(QueueState.INCOMING);
        assertThat(q.pendingReleases()).as("nothing left for the next start to release again").isEmpty();
        assertThat(q.find(entry.id())).as("released").isEmpty();
        assertThat(spool.count(QueueState.INCOMING) + spool.count(QueueState.DEFERRED)).isEqualTo(1);
    }

    /**
     * From another process, a release is committed to incoming/ and then moved to deferred/; the
     * running server's scan of incoming/ may take it in between. The release is then done all the
     * same: reported queued, the entry gone from the quarantine, the message once in the spool.
     */
    @Test
    void aReleaseTakenFromIncomingByTheServerBeforeItsMoveIsStillQueued(@TempDir Path dir) throws Exception {
        Staged st = staged(dir, "taken");
        Quarantine q = st.q();
        QuarantineEntry entry = st.entry();
        Spool spool = st.spool();
        spool.onAccepted(id -> {
            try {
                spool.move(id, QueueState.INCOMING, QueueState.ACTIVE); // as the server's queue manager takes it for delivery
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        QuarantineRelease release = st.release();

        QuarantineRelease.Outcome outcome = release.release(entry.id());

        assertThat(outcome).isInstanceOf(QuarantineRelease.Outcome.Queued.class);
        String id = ((QuarantineRelease.Outcome.Queued) outcome).queueId();
        assertThat(spool.state(id)).contains(QueueState.ACTIVE);
        assertThat(spool.count(QueueState.DEFERRED) + spool.count(QueueState.INCOMING)).isZero();
        assertThat(q.find(entry.id())).as("released, so no longer in the quarantine").isEmpty();
    }
}
