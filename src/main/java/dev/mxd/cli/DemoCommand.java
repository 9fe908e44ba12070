package dev.mxd.cli;

import dev.mxd.config.Logging;
import dev.mxd.demo.DemoRun;
import dev.mxd.demo.TrainingRun;
import dev.mxd.ops.LogSetup;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mxd demo}: the options and the exit status of a {@link DemoRun}, which starts the
 * cluster, sends the burst through the primary's outage and prints the timeline and the tally.
 * The hidden {@code --train} runs a {@link TrainingRun} instead: the workload the {@code ./mxd}
 * launcher records in its AOT cache on JDK 25 and later.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Run a highly available MX cluster on this machine and show mail surviving the loss of its primary MX.",
                "",
                "Starts, in this one process and on loopback only: an authoritative DNS server (mxd dns) for example.test "
                        + "with MX 10 mx1, MX 20 mx2, MX 20 mx3 (127.0.0.11-13); three mxd nodes on those addresses (mx1 the "
                        + "final destination with a Maildir, mx2 and mx3 backup MX); and a sending mxd node on 127.0.0.10. "
                        + "All listen on one free port that stands in for 25, and every node asks only the demo's DNS server, "
                        + "so no mail can leave the machine.",
                "",
                "Then: the demo, as a trusted client, submits a burst of messages to the sending node over SMTP, which "
                        + "delivers them by MX to mx1. Part-way through mx1 is stopped (closed, as on SIGTERM): the next part "
                        + "of the burst goes to mx2 and mx3, shared between them (equal preference), and they hold it because "
                        + "only mx1 is a better MX. mx1 is started again on its data directory, the backups are asked to "
                        + "retry (as an operator's flush would) and hand their mail over; once the sender's retry time for mx1 "
                        + "has passed, one message probes mx1, and the rest of the burst goes straight to mx1.",
                "",
                "It prints a timeline with each node's counts (accepted; queued, i.e. held; mx1's Maildir) and a tally: "
                        + "sent, accepted by each node, delivered to mx1's Maildir, lost, found by a marker header in each "
                        + "message. Retry times are 1s instead of minutes, so it takes about 5-15 seconds.",
                "",
                "With --secure the same run is secured as issue 17 describes: the zone is signed at start (a fresh ECDSA "
                        + "P-256 key, NSEC) and publishes TLSA 3 1 1 records at _25._tcp of each MX host, which offers STARTTLS "
                        + "with a self-signed certificate made for the run; every node validates DNSSEC from the zone's key "
                        + "(dns.dnssec: validate, dns.trust-anchors) and delivers with DANE (delivery.tls.dane: on). The "
                        + "timeline then says, per MX host, how the delivery sessions to it were authenticated (DANE-EE, "
                        + "or opportunistic TLS without authentication, or the failure).",
                "",
                "Exit status: 0 every message is in mx1's Maildir; 1 a message was lost, refused, bounced or still queued "
                        + "at the deadline; 64 usage error; 75 the cluster could not start (no free port, disk)."},
        footer = {"", "Examples:",
                "  mxd demo                      200 messages; all removed at the end",
                "  mxd demo --messages 60        a quicker run",
                "  mxd demo --keep /tmp/demo     keep configs, zone, spools, Maildir",
                "  mxd demo --secure             signed zone, TLSA records, DANE",
                "  MXD_LOG_LEVEL=INFO mxd demo   each node's log lines on stderr too"})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--messages", paramLabel = "N", defaultValue = "200",
            description = "Messages in the burst (default ${DEFAULT-VALUE}; " + DemoRun.MIN_MESSAGES + " to " + DemoRun.MAX_MESSAGES + ").")
    int messages;

    @Option(names = "--keep", paramLabel = "DIR",
            description = "Work in DIR (new or empty) and keep it: zone file, node configs (*.yaml), spools, mx1's Maildir. "
                    + "Default: a temporary directory, removed at the end.")
    Path keep;

    @Option(names = "--secure",
            description = "Serve the zone signed, with TLSA records for the MX hosts' certificates, have every node validate "
                    + "DNSSEC and deliver with DANE, and show how each MX host was authenticated. With --keep, the directory "
                    + "also holds the signed zone, its anchor (example.test.anchor) and the certificates and keys.")
    boolean secure;

    @Option(names = "--train", hidden = true,
            description = "Instead of the cluster: relay --messages N (default 2000) messages of 4 KB end to end on loopback "
                    + "(a DNS server, a relaying node, a receiving node), half one per connection and half 50 per session, "
                    + "within 60 s, and exit 0 when every accepted one was delivered. The ./mxd launcher's training run for "
                    + "its AOT cache.")
    boolean train;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Messages of a training run when --messages is not given. */
    static final int TRAINING_MESSAGES = 2000;
    /** The most a training run takes. */
    static final Duration TRAINING_LIMIT = Duration.ofSeconds(60);

    @Override
    public Integer call() {
        if (train) {
            return train();
        }
        if (messages < DemoRun.MIN_MESSAGES || messages > DemoRun.MAX_MESSAGES) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--messages " + messages + " is out of range; give "
                    + DemoRun.MIN_MESSAGES + " to " + DemoRun.MAX_MESSAGES);
        }
        if (keep != null && !DemoRun.emptyOrAbsent(keep)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--keep " + keep
                    + " is not an empty directory; give a new or empty one so the demo never mixes with other files");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DemoRun run = new DemoRun(messages, Optional.ofNullable(keep), out, secure);
        try {
            return run.run() ? ExitCodes.OK : ExitCodes.PERMANENT;
        } catch (IOException | UncheckedIOException | IllegalStateException e) {
            out.flush();
            // A signal's hook stops the nodes and removes their files under the running burst: say that, not the
            // missing spool the burst then met
            err.println(run.signalled() ? "mxd demo: stopped by a signal; the cluster is stopped"
                    + (keep == null ? " and its files removed" : ", its files kept in " + keep)
                    : "mxd demo: cannot run the cluster: " + e.getMessage());
            err.flush();
            return ExitCodes.TEMPORARY;
        }
    }

    /**
     * A {@link TrainingRun} in a temporary directory, logging at info into a file there as {@code mxd serve} would
     * log (so the training takes the same logging path); one line on stdout.
     */
    private int train() {
        int n = spec.commandLine().getParseResult().hasMatchedOption("--messages") ? messages : TRAINING_MESSAGES;
        if (n < TrainingRun.MIN_MESSAGES || n > TrainingRun.MAX_MESSAGES) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--messages " + n + " is out of range for --train; give "
                    + TrainingRun.MIN_MESSAGES + " to " + TrainingRun.MAX_MESSAGES);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            Path dir = Files.createTempDirectory("mxd-train");
            LogSetup.apply(new Logging(Logging.Level.INFO, Optional.of(dir.resolve("mxd.log"))),
                    Optional.ofNullable(System.getenv("MXD_LOG_LEVEL")));
            return new TrainingRun(n, TRAINING_LIMIT).run(dir, out).ok() ? ExitCodes.OK : ExitCodes.PERMANENT;
        } catch (IOException | UncheckedIOException | IllegalStateException e) {
            out.flush();
            err.println("mxd demo --train: cannot run: " + e.getMessage());
            err.flush();
            return ExitCodes.TEMPORARY;
        }
    }
}
