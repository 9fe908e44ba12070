package dev.mxd.demo;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.mxd.demo.DemoCluster.Node;
import dev.mxd.demo.DemoCluster.NodeCounts;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * One run of {@code mxd demo}: the seed's whole idea on one machine. A domain with a primary MX
 * and two equal backups ({@link DemoCluster}), a burst of mail from a trusted client
 * ({@link DemoClient}), the primary going away part-way through, the backups sharing the load and
 * holding the mail, and handing it over when the primary is back; then a tally
 * ({@link DemoTally}) that proves, message by message, that nothing was lost. It prints a
 * timeline as it goes; the command line only checks the options and turns the result into an
 * exit status.
 */
public final class DemoRun {

    /** The fewest messages a burst may have: enough for every phase of the run to have some. */
    public static final int MIN_MESSAGES = 10;
    /** The most messages a burst may have. */
    public static final int MAX_MESSAGES = 5000;

    private final int messages;
    private final Path keep;
    private final PrintWriter out;
    private final boolean secure;
    private final DemoTlsLog tlsLog = new DemoTlsLog();
    private long startNanos;
    /** Set by the shutdown hook (SIGTERM, Ctrl-C) before it stops the nodes and removes their files. */
    private volatile boolean signalled;
    private long deadlineNanos;

    /**
     * @param messages the burst, {@link #MIN_MESSAGES} to {@link #MAX_MESSAGES}
     * @param keep     a new or empty directory to work in and keep; empty: a temporary one, removed at the end
     * @param out      where the timeline and the tally go
     */
    public DemoRun(int messages, Optional<Path> keep, PrintWriter out) {
        this(messages, keep, out, false);
    }

    /**
     * @param secure {@code --secure}: the zone signed with TLSA records for the MX hosts, the nodes validating
     *               DNSSEC and delivering with DANE, and the timeline saying how each MX host's sessions were
     *               authenticated
     */
    public DemoRun(int messages, Optional<Path> keep, PrintWriter out, boolean secure) {
        if (messages < MIN_MESSAGES || messages > MAX_MESSAGES) {
            throw new IllegalArgumentException("a burst of " + messages + " messages; " + MIN_MESSAGES + " to " + MAX_MESSAGES);
        }
        this.messages = messages;
        this.keep = keep.orElse(null);
        this.out = out;
        this.secure = secure;
    }

    /**
     * Starts the cluster, runs the burst through the outage and prints the tally.
     *
     * @return whether every message is in mx1's Maildir (none lost, refused, bounced or still queued)
     * @throws IOException          the cluster could not start (no free port, disk)
     * @throws UncheckedIOException a spool or Maildir could not be read while counting
     * @throws IllegalStateException the demo's own zone or configuration does not load
     */
    public boolean run() throws IOException {
        startNanos = System.nanoTime();
        // A generous bound for a loaded machine: about 15 s is usual for 200 messages.
        deadlineNanos = startNanos + Duration.ofSeconds(45).plusMillis(20L * messages).toNanos();
        Logger mxdLog = (Logger) LoggerFactory.getLogger("dev.mxd");
        Level before = mxdLog.getLevel();
        if (System.getenv("MXD_LOG_LEVEL") == null) {
            mxdLog.setLevel(Level.ERROR); // the timeline is the output; delivery warnings about the stopped mx1 are expected
        }
        try {
            Path dir = keep != null ? keep : Files.createTempDirectory("mxd-demo");
            DemoTally tally;
            try (DemoCluster cluster = DemoCluster.start(dir, keep != null, secure, tlsLog)) {
                // Ctrl-C stops the nodes and removes the temporary files too.
                Thread hook = new Thread(() -> {
                    signalled = true; // first: what the run meets from here on is the stop, not a fault
                    try {
                        cluster.close();
                    } catch (UncheckedIOException e) {
                        System.err.println("mxd demo: " + e.getMessage());
                    }
                }, "mxd-demo-stop");
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    tally = run(cluster);
                } finally {
                    removeHook(hook);
                }
            }
            tally.print(out, seconds());
            if (keep == null) {
                out.printf("removed %s%n", dir);
            } else {
                out.printf("kept %s: zone file, node configs, spools; mx1's Maildir is %s%n", dir,
                        dir.resolve("mx1/mail").resolve(DemoCluster.DOMAIN).resolve(DemoCluster.MAILBOX).resolve("Maildir"));
            }
            out.flush();
            return tally.ok();
        } finally {
            out.flush();
            mxdLog.setLevel(before);
        }
    }

    private DemoTally run(DemoCluster c) throws IOException {
        String runId = UUID.randomUUID().toString().substring(0, 8);
        DemoClient client = new DemoClient(c.smtp(Node.SENDER), runId, messages);
        int part1 = messages * 2 / 5;
        int part2 = messages * 4 / 5;
        header(c);
        event("all nodes up");

        submit(client, 1, part1, "with every MX up");
        await("sender delivers them to mx1", () -> queued(c, Node.SENDER) == 0 && queued(c, Node.MX1) == 0
                && c.mx1Maildir().size() >= part1);
        table(c);

        c.stopNode(Node.MX1);
        event("mx1 STOPS (its listener closes; its spool and Maildir stay on disk)");
        submit(client, part1 + 1, part2, "while mx1 is down");
        await("sender hands them to the backups", () -> queued(c, Node.SENDER) == 0);
        c.viewOfMx1(Node.SENDER).ifPresent(s -> event("sender's host status: mx1 failed " + s.failures() + "x ("
                + s.lastError() + "); passed over until its retry time"));
        event("mx2 holds " + queued(c, Node.MX2) + ", mx3 holds " + queued(c, Node.MX3)
                + ": equal preference shares the load, and only mx1 is a better MX to hand it to");
        Instant held = Instant.now().plusMillis(500); // later than the backups' first attempts, earlier than their retries
        await("mx2 and mx3 have retried mx1 (refused again) and keep holding the mail",
                () -> retriedSince(c, Node.MX2, held) && retriedSince(c, Node.MX3, held));
        table(c);

        c.startNode(Node.MX1);
        event("mx1 RETURNS (started again on its data directory)");
        c.flush(Node.MX2);
        c.flush(Node.MX3);
        event("mx2 and mx3 retry their held mail now (as an operator's flush would)");
        await("the backups hand their mail to mx1", () -> queued(c, Node.MX2) == 0 && queued(c, Node.MX3) == 0
                && c.mx1Maildir().size() >= part2);
        table(c);

        await("sender's retry time for mx1 has passed: its next delivery tries mx1 first",
                () -> c.viewOfMx1(Node.SENDER).filter(s -> s.retryAt().isAfter(Instant.now())).isEmpty());
        // One message first: the sender's delivery of it probes mx1 (others meanwhile would still be passed over to the
        // backups), and once mx1 took it, the sender has forgotten mx1's failures and the rest go to mx1 directly
        int probe = part2 + 1;
        int before = c.mx1Maildir().size();
        submit(client, probe, probe, "alone: the sender's delivery of it probes mx1");
        await("mx1 took it: the sender forgets mx1's failures", () -> c.mx1Maildir().size() > before
                && c.viewOfMx1(Node.SENDER).filter(s -> s.failures() > 0).isEmpty());
        if (probe < messages) {
            submit(client, probe + 1, messages, "with every MX up again: straight to mx1");
        }
        await("everything is delivered", () -> c.counts().stream().allMatch(n -> n.queued() == 0)
                && c.mx1Maildir().size() >= messages);
        table(c);
        if (secure) {
            event("TLS of the delivery sessions (sender, mx2 and mx3 delivering), per MX host:");
            tlsLog.lines(List.of(DemoCluster.hostname(Node.MX1), DemoCluster.hostname(Node.MX2), DemoCluster.hostname(Node.MX3)))
                    .forEach(line -> event("  " + line));
        }
        return tally(c, client);
    }

    private void submit(DemoClient client, int from, int to, String when) {
        event("client submits messages " + from + "-" + to + " to sender " + when);
        long left = Math.max(1, deadlineNanos - System.nanoTime());
        int accepted = client.submit(from, to, Duration.ofNanos(left));
        event("sender accepted " + accepted + " of " + (to - from + 1));
    }

    private DemoTally tally(DemoCluster c, DemoClient client) {
        Map<Integer, Integer> copies = new HashMap<>();
        Set<Integer> viaBackups = new HashSet<>();
        for (Path f : c.mx1Maildir()) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.ISO_8859_1);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
            }
            int n = client.markerOf(text);
            if (n < 0) {
                continue; // not part of this burst
            }
            copies.merge(n, 1, Integer::sum);
            if (text.contains("by " + DemoCluster.hostname(Node.MX2) + " (mxd)")
                    || text.contains("by " + DemoCluster.hostname(Node.MX3) + " (mxd)")) {
                viaBackups.add(n);
            }
        }
        Set<Integer> accepted = client.accepted();
        int lost = (int) accepted.stream().filter(n -> !copies.containsKey(n)).count();
        int duplicates = copies.values().stream().mapToInt(k -> k - 1).sum();
        Map<Node, Long> acceptedBy = new EnumMap<>(Node.class);
        int queued = 0;
        for (NodeCounts n : c.counts()) {
            acceptedBy.put(n.node(), n.accepted());
            queued += n.queued();
        }
        client.refusals().stream().limit(5).forEach(r -> event("refused: " + r));
        return new DemoTally(messages, acceptedBy, viaBackups.size(), copies.size(), lost, duplicates,
                queued, c.bounces().size(), messages - accepted.size());
    }

    private void header(DemoCluster c) {
        out.printf("mxd demo: %d messages to %s@%s through a primary and two backup MX hosts, all on this machine%n",
                messages, DemoCluster.MAILBOX, DemoCluster.DOMAIN);
        out.printf("  %-7s %-22s %s%n", "dns", "127.0.0.1:" + c.dnsAddress().getPort(),
                "zone " + DemoCluster.DOMAIN + ": MX 10 mx1, MX 20 mx2, MX 20 mx3");
        if (c.security().on()) {
            out.printf("  %-7s %-22s %s%n", "", "", "signed in process: ECDSA P-256 key tag " + c.security().keyTag()
                    + " made for this run, NSEC; TLSA 3 1 1 at _25._tcp of each MX host");
            out.printf("  %-7s %-22s %s%n", "", "", "every node validates from that key (dns.dnssec: validate) with DANE on;"
                    + " mx1-mx3 offer STARTTLS with self-signed certificates the TLSA records pin");
        }
        for (Node n : List.of(Node.MX1, Node.MX2, Node.MX3, Node.SENDER)) {
            out.printf("  %-7s %-22s %s%n", n.label, n.address + ":" + c.port(), n.role);
        }
        out.printf("  %-7s %s%n%n", "files", c.dir() + (keep == null ? " (removed at the end; --keep DIR keeps them)" : ""));
        out.flush();
    }

    private void table(DemoCluster c) {
        out.printf("           %-7s %-5s %9s %7s %8s%n", "node", "state", "accepted", "queued", "maildir");
        int maildir = c.mx1Maildir().size();
        for (NodeCounts n : c.counts()) {
            out.println(String.format("           %-7s %-5s %9d %7d %8s", n.node().label, n.running() ? "up" : "DOWN",
                    n.accepted(), n.queued(), n.node() == Node.MX1 ? String.valueOf(maildir) : "").stripTrailing());
        }
        out.flush();
    }

    private void await(String what, BooleanSupplier done) {
        long begin = System.nanoTime();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadlineNanos > 0) {
                event("GAVE UP waiting until " + what + " (deadline reached)");
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        event(what + " (" + String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - begin) / 1e9) + " s)");
    }

    /**
     * Whether a backup has tried mx1 again since {@code since}: its host status table records a failed attempt
     * after it. One holding no mail has nothing to try.
     */
    private static boolean retriedSince(DemoCluster c, Node backup, Instant since) {
        return queued(c, backup) == 0 || c.viewOfMx1(backup).filter(s -> s.failedAt().isAfter(since)).isPresent();
    }

    private static int queued(DemoCluster c, Node n) {
        return c.counts(n).queued();
    }

    private void event(String text) {
        out.printf("[%5.1fs] %s%n", seconds(), text);
        out.flush();
    }

    private double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** Whether a signal stopped the run: its cluster is closed, so what the run met after it is no fault of mxd's. */
    public boolean signalled() {
        return signalled;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it closes the cluster
        }
    }

    /** Whether {@code dir} may be given to work in: it does not exist yet, or is an empty directory. */
    public static boolean emptyOrAbsent(Path dir) {
        if (!Files.exists(dir)) {
            return true;
        }
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }
}
