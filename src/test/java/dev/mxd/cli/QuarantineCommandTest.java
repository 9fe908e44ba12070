package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.filter.EngineResult;
import dev.mxd.config.Engine;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.filter.ScanEnvelope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mxd quarantine list|show|release|delete --data-dir DIR}: output and exit statuses. */
class QuarantineCommandTest {

    @TempDir
    Path dataDir;

    QuarantineEntry quarantined() throws Exception {
        return new Quarantine(dataDir).store(MessageSource.of("Subject: x\r\n\r\nvirus here\r\n".getBytes(StandardCharsets.US_ASCII)),
                ScanEnvelope.of("Q9", "a@x.test", List.of("b@example.test")), "virus Local.EICAR.UNOFFICIAL (clamd)",
                List.of(new EngineResult.Infected(Engine.CLAMD, "Local.EICAR.UNOFFICIAL")), Instant.parse("2026-11-26T05:00:00Z"));
    }

    DnsCommandTest.Run run(String... args) {
        return DnsCommandTest.run(args);
    }

    /**
     * On a terminal the quarantined text is shown with its control characters escaped, as the metadata is: an escape
     * sequence in a hostile header (cursor up, erase) could rewrite the reason and verdict printed above it. Redirected,
     * it is the message octet for octet (the other tests, which run without a terminal).
     */
    @Test
    void onATerminalTheTextsControlCharactersAreEscaped() throws Exception {
        java.io.StringWriter shown = new java.io.StringWriter();
        byte[] text = "Subject: \u001b[9A\u001b[Jreason: clean\r\n\r\nbody\rover\r\n".getBytes(StandardCharsets.UTF_8);
        QuarantineCommand.Show.writeText(new java.io.PrintWriter(shown), new java.io.ByteArrayInputStream(text), true);
        assertThat(shown.toString().replace(System.lineSeparator(), "\n"))
                .isEqualTo("Subject: \\u001B[9A\\u001B[Jreason: clean\n\nbody\nover\n");
    }

    @Test
    void listShowsEntriesAndJson() throws Exception {
        QuarantineEntry e = quarantined();
        DnsCommandTest.Run text = run("quarantine", "list", "--data-dir", dataDir.toString());
        assertThat(text.status()).isZero();
        assertThat(text.out()).contains(e.id()).contains("2026-11-26T05:00:00Z").contains("a@x.test")
                .contains("virus Local.EICAR.UNOFFICIAL (clamd)").contains("1 of 1 shown");
        DnsCommandTest.Run json = run("quarantine", "list", "--json", "--data-dir", dataDir.toString());
        JsonNode root = new ObjectMapper().readTree(json.out());
        assertThat(root.get("total").asInt()).isEqualTo(1);
        assertThat(root.get("entries").get(0).get("recipients").get(0).asText()).isEqualTo("b@example.test");
        assertThat(root.get("entries").get(0).get("verdicts").get(0).asText()).isEqualTo("clamd: infected with Local.EICAR.UNOFFICIAL");
    }

    /**
     * One entry whose metadata is damaged (edited by hand, cut short by a failing disk): every page
     * holding it failed (exit 75), the default newest-first page hiding the whole quarantine. Now the
     * others are listed and the damaged one is named, with how to take it away.
     */
    @Test
    void aDamagedEntryIsNamedAndTheOthersAreListed() throws Exception {
        QuarantineEntry good = quarantined();
        QuarantineEntry bad = quarantined();
        java.nio.file.Files.writeString(dataDir.resolve("quarantine").resolve(bad.id() + ".json"), "{}");
        DnsCommandTest.Run text = run("quarantine", "list", "--data-dir", dataDir.toString());
        assertThat(text.status()).as(text.err()).isZero();
        assertThat(text.out()).contains(good.id()).contains("unreadable entry " + bad.id() + ": ")
                .contains("1 of 2 shown, 1 unreadable");
        JsonNode json = new ObjectMapper().readTree(run("quarantine", "list", "--json", "--data-dir", dataDir.toString()).out());
        assertThat(json.get("entries")).hasSize(1);
        assertThat(json.get("unreadable").get(0).asText()).startsWith(bad.id() + ": ");
        assertThat(run("quarantine", "delete", "--data-dir", dataDir.toString(), bad.id()).status()).isZero();
        assertThat(run("quarantine", "list", "--data-dir", dataDir.toString()).out()).contains("1 of 1 shown");
    }

    /**
     * sudo mxd quarantine release --data-dir beside an mxd that runs as its own user: the released/
     * directory and the lock it made were root's, so the server could not forget the release and
     * delivered it again at every start. Root on another user's data directory is refused (77).
     */
    @Test
    void rootOnAnotherUsersDataDirectoryIsRefused(@TempDir Path other) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "runs as root");
        java.nio.file.attribute.UserPrincipal nobody = other.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        java.nio.file.Files.setOwner(other, nobody);
        DnsCommandTest.Run r = run("quarantine", "list", "--data-dir", other.toString());
        assertThat(r.status()).isEqualTo(77);
        assertThat(r.err()).contains("belongs to nobody and this runs as root", "sudo -u nobody mxd quarantine");
        assertThat(other.resolve("quarantine")).as("nothing made").doesNotExist();
        assertThat(run("quarantine", "release", "--data-dir", other.toString(), "20261203T135210123Z-0f3a9c2e").status()).isEqualTo(77);
    }

    @Test
    void emptyQuarantine() {
        DnsCommandTest.Run r = run("quarantine", "list", "--data-dir", dataDir.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out()).isEqualTo("quarantine is empty" + System.lineSeparator());
    }

    /** A run whose standard output's octets (where show writes the message text) are kept too. */
    record Shown(DnsCommandTest.Run run, byte[] stdout) {}

    static Shown runShow(String... args) {
        java.io.PrintStream was = System.out;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(bytes, true));
        try {
            return new Shown(DnsCommandTest.run(args), bytes.toByteArray());
        } finally {
            System.setOut(was);
        }
    }

    @Test
    void showPrintsMetadataThenText() throws Exception {
        QuarantineEntry e = quarantined();
        Shown r = runShow("quarantine", "show", "--data-dir", dataDir.toString(), e.id());
        assertThat(r.run().status()).isZero();
        assertThat(r.run().out()).contains("recipients: b@example.test").contains("verdict:    clamd: infected with Local.EICAR.UNOFFICIAL");
        assertThat(new String(r.stdout(), StandardCharsets.US_ASCII)).isEqualTo("Subject: x\r\n\r\nvirus here\r\n");
    }

    /**
     * show ID > copy.eml is the message: octets that are not UTF-8 (a Latin-1 body) and a character cut at the
     * copy buffer's 64 KB boundary come out as stored (they became U+FFFD).
     */
    @Test
    void showWritesTheTextOctetForOctet() throws Exception {
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        text.writeBytes("Subject: caf\u00e9\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n".getBytes(StandardCharsets.UTF_8));
        text.write(0xe9); // Latin-1
        text.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        while (text.size() < 70_000) {
            text.writeBytes("\u00e9t\u00e9 \u20ac\r\n".getBytes(StandardCharsets.UTF_8)); // multi-octet characters across 65,536
        }
        byte[] stored = text.toByteArray();
        QuarantineEntry e = new Quarantine(dataDir).store(MessageSource.of(stored), ScanEnvelope.of("Q8", "a@x.test",
                List.of("b@example.test")), "spam (spamd)", List.of(), Instant.parse("2026-11-26T05:00:00Z"));
        Shown r = runShow("quarantine", "show", "--data-dir", dataDir.toString(), e.id());
        assertThat(r.run().status()).isZero();
        assertThat(r.stdout()).isEqualTo(stored);
    }

    /** Standard output that cannot be written (a closed pipe) is exit 74, not 75's "try again" about the quarantine. */
    @Test
    void showToAFailedStandardOutputIsExit74() throws Exception {
        QuarantineEntry e = quarantined();
        java.io.PrintStream was = System.out;
        System.setOut(new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                throw new java.io.IOException("Broken pipe");
            }
        }, true));
        DnsCommandTest.Run r;
        try {
            r = run("quarantine", "show", "--data-dir", dataDir.toString(), e.id());
        } finally {
            System.setOut(was);
        }
        assertThat(r.status()).isEqualTo(74);
        assertThat(r.err()).contains("standard output failed").doesNotContain("(in ");
    }

    /**
     * A release with --data-dir waits for the next start of the server; when one runs on the directory now (its lock
     * file names a live JVM: here this one), the command says so instead of leaving the operator to think it is on its way.
     */
    @Test
    void aReleaseParkedBesideARunningServerSaysItWaitsForItsNextStart() throws Exception {
        QuarantineEntry first = quarantined();
        DnsCommandTest.Run quiet = run("quarantine", "release", "--data-dir", dataDir.toString(), first.id());
        assertThat(quiet.status()).isZero();
        assertThat(quiet.err()).doesNotContain("warning");
        // a stale pid in the lock file says nothing: no process holds the lock
        java.nio.file.Files.writeString(dataDir.resolve("mxd.lock"), ProcessHandle.current().pid() + "\n");
        QuarantineEntry second = quarantined();
        DnsCommandTest.Run stale = run("quarantine", "release", "--data-dir", dataDir.toString(), second.id());
        assertThat(stale.err()).doesNotContain("warning");
        // a server holding the lock: a child process, as the kernel names the lock's holder (fcntl locks of this JVM
        // would name it, but a server is another process)
        Process holder = new ProcessBuilder("flock", dataDir.resolve("mxd.lock").toString(), "sleep", "20").start();
        try {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> dev.mxd.node.NodeStart.runningOn(dataDir).isPresent());
            QuarantineEntry third = quarantined();
            DnsCommandTest.Run r = run("quarantine", "release", "--data-dir", dataDir.toString(), third.id());
            assertThat(r.status()).isZero();
            assertThat(r.err()).contains("warning: mxd serve (process ").contains(") runs on").contains("only when it next starts");
        } finally {
            holder.destroy();
            holder.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** A mistyped --data-dir is said (66), not listed as an empty quarantine, and nothing is made there. */
    @Test
    void aDataDirThatIsNotThereIsAnErrorAndMakesNothing() {
        Path missing = dataDir.resolve("no-such-dir");
        DnsCommandTest.Run list = run("quarantine", "list", "--data-dir", missing.toString());
        assertThat(list.status()).isEqualTo(66);
        assertThat(list.err()).contains("no data directory " + missing);
        DnsCommandTest.Run release = run("quarantine", "release", "--data-dir", missing.toString(), "20261203T135210123Z-0f3a9c2e");
        assertThat(release.status()).isEqualTo(66);
        assertThat(missing).doesNotExist();
    }

    @Test
    void releaseQueuesForDeliveryThenDeleteAndUnknownIds() throws Exception {
        QuarantineEntry e = quarantined();
        Path config = dataDir.resolve("mxd.yaml");
        java.nio.file.Files.writeString(config, "data-dir: " + dataDir + "\ndomains:\n  example.test:\n    role: local\n"
                + "    mailboxes: [b]\n    aliases: {postmaster: b}\n");
        // Without a configuration to route by, the entry waits in released/ for the next server start ...
        assertThat(run("quarantine", "release", "--data-dir", dataDir.toString(), e.id()).status()).isZero();
        assertThat(new Quarantine(dataDir).pendingReleases()).hasSize(1);
        // ... or for a release with the configuration, which finishes it.
        DnsCommandTest.Run released = run("quarantine", "release", "--config", config.toString(), e.id());
        assertThat(released.status()).as(released.err()).isZero();
        assertThat(released.out()).contains("recipients: b@example.test").contains("released:   queued as ");
        String queueId = released.out().substring(released.out().indexOf("queued as ") + 10).strip();
        dev.mxd.queue.Spool spool = dev.mxd.queue.Spool.attach(dataDir.resolve("spool"), "localhost", java.time.Clock.systemUTC());
        assertThat(spool.state(queueId)).contains(dev.mxd.queue.QueueState.DEFERRED); // due now: a running server's next scan
        assertThat(dev.mxd.testing.SpoolFiles.text(spool, queueId)).startsWith("Received: by ")
                .endsWith("Subject: x\r\n\r\nvirus here\r\n");
        assertThat(new Quarantine(dataDir).pendingReleases()).isEmpty();
        assertThat(run("quarantine", "list", "--config", config.toString()).out()).contains("quarantine is empty");
        DnsCommandTest.Run again = run("quarantine", "release", "--config", config.toString(), e.id());
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("mxd quarantine release: no entry " + e.id() + " in " + dataDir.resolve("quarantine")
                + " (see mxd quarantine list)" + System.lineSeparator());
        QuarantineEntry second = quarantined();
        assertThat(run("quarantine", "delete", "--data-dir", dataDir.toString(), second.id()).out()).isEqualTo("deleted " + second.id()
                + System.lineSeparator());
        assertThat(run("quarantine", "delete", "--data-dir", dataDir.toString(), second.id()).status()).isEqualTo(1);
    }

    @Test
    void aReleaseInterruptedByACrashIsFinishedByTheNextRelease() throws Exception {
        QuarantineEntry e = quarantined();
        new Quarantine(dataDir).release(e.id()); // moved to released/, then the process died before the spool had it
        assertThat(run("quarantine", "list", "--data-dir", dataDir.toString()).out()).contains("quarantine is empty");
        Path config = dataDir.resolve("mxd.yaml");
        java.nio.file.Files.writeString(config, "data-dir: " + dataDir + "\ndomains:\n  example.test:\n    role: local\n"
                + "    mailboxes: [b]\n    aliases: {postmaster: b}\n");
        DnsCommandTest.Run r = run("quarantine", "release", "--config", config.toString(), e.id());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("released:   queued as ");
        assertThat(new Quarantine(dataDir).pendingReleases()).isEmpty();
    }

    @Test
    void aReleaseToNobodyTheConfigurationAcceptsKeepsTheEntry() throws Exception {
        QuarantineEntry e = quarantined();
        Path config = dataDir.resolve("mxd.yaml");
        java.nio.file.Files.writeString(config, "data-dir: " + dataDir + "\ntrusted-networks: []\ndomains:\n  example.test:\n"
                + "    role: local\n    mailboxes: [c]\n    aliases: {postmaster: c}\n");
        DnsCommandTest.Run r = run("quarantine", "release", "--config", config.toString(), e.id());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("accepts none of its recipients: b@example.test (550 5.1.1");
        assertThat(new Quarantine(dataDir).find(e.id())).isPresent();
    }

    @Test
    void usageErrors() {
        assertThat(run("quarantine", "list", "--config", dataDir.resolve("none.yaml").toString()).status()).isEqualTo(78);
        assertThat(run("quarantine").status()).isEqualTo(64);
        assertThat(run("quarantine", "list", "--limit", "0", "--data-dir", dataDir.toString()).status()).isEqualTo(64);
    }

    /**
     * Issue 15 point 7: without --config and --data-dir, mxd quarantine uses the defaults of mxd queue
     * (the embedded configuration's admin listener and ./mxd-data/admin.token) instead of refusing
     * with a usage error (which the usage test above asserted before this issue). With no server
     * behind those defaults here, both commands fail alike: same status, same explanation.
     */
    @Test
    void withoutOptionsQuarantineUsesTheDefaultsOfQueue() {
        DnsCommandTest.Run queue = run("queue", "list");
        DnsCommandTest.Run quarantine = run("quarantine", "list");
        assertThat(quarantine.status()).as(quarantine.err()).isNotEqualTo(64).isEqualTo(queue.status());
        assertThat(queue.err()).startsWith("mxd queue list: ");
        assertThat(quarantine.err()).isEqualTo(queue.err().replaceFirst("^mxd queue list: ", "mxd quarantine list: "));
        assertThat(quarantine.err()).containsAnyOf("mxd-data/admin.token", "127.0.0.1:8025");
    }

    /**
     * {@code mxd quarantine release} in another process (a JVM of its own, as beside a running
     * server) waits while this process holds the quarantine's lock, for instance in the middle of
     * a release, and releases the entry once the lock is let go.
     */
    @Test
    void aReleaseInAnotherProcessWaitsForTheQuarantineLock() throws Exception {
        QuarantineEntry e = quarantined();
        Quarantine q = new Quarantine(dataDir);
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path out = dataDir.resolve("release.out");
        Process p;
        try (Quarantine.Lock held = q.lock()) {
            p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main", "quarantine", "release",
                    "--data-dir", dataDir.toString(), e.id()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            // long enough for the other JVM to start and reach the release (about a second here)
            assertThat(p.waitFor(8, java.util.concurrent.TimeUnit.SECONDS)).as("the other process waits for the lock").isFalse();
            assertThat(q.find(e.id())).isPresent();
        }
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(java.nio.file.Files.readString(out)).isZero();
        assertThat(q.find(e.id())).isEmpty();
        assertThat(q.pendingReleases()).singleElement().satisfies(r -> assertThat(r.entry().id()).isEqualTo(e.id()));
    }
}
