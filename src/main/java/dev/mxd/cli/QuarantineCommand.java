package dev.mxd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.queue.Spool;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mxd quarantine}: what the filter held back, for an operator to look at, release or delete.
 * Works on the data directory directly, found from {@code --config FILE} (or given with
 * {@code --data-dir}); release puts the message into the spool for a running or a later server.
 */
@Command(name = "quarantine", mixinStandardHelpOptions = true,
        description = {"List, show, release or delete quarantined messages.",
                "Exit status: 0 done, 1 no such entry (or nobody left to release to), 75 the quarantine or spool could not be"
                        + " read or written, 78 invalid configuration, 64 usage error."},
        subcommands = {QuarantineCommand.ListEntries.class, QuarantineCommand.Show.class, QuarantineCommand.Release.class,
                QuarantineCommand.Delete.class},
        footer = {"", "Example:", "  mxd quarantine list --data-dir /var/lib/mxd"})
final class QuarantineCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a quarantine command: list, show, release or delete");
    }

    /** Where the quarantine is: from the configuration, or a data directory given directly. */
    static final class Store {
        @Option(names = "--config", paramLabel = "FILE", description = "mxd's YAML configuration; its data-dir holds the quarantine.")
        Path config;

        @Option(names = "--data-dir", paramLabel = "DIR", description = "mxd's data directory (overrides the configuration's);"
                + " the quarantine is DIR/quarantine.")
        Path dataDir;

        private MxdConfig loaded;

        MxdConfig config(CommandLine.Model.CommandSpec spec, String why) throws ConfigException {
            if (config == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give --config FILE" + why);
            }
            if (loaded == null) {
                loaded = ConfigLoader.load(config);
            }
            return loaded;
        }

        Path dataDir(CommandLine.Model.CommandSpec spec) throws ConfigException {
            return dataDir != null ? dataDir : config(spec, " (or --data-dir DIR): it says where the quarantine is").dataDir();
        }

        Quarantine quarantine(CommandLine.Model.CommandSpec spec) throws ConfigException {
            return new Quarantine(dataDir(spec));
        }
    }

    /** An entry id on the command line, with the answer for one that is not there. */
    abstract static class OneEntry implements Callable<Integer> {
        @Mixin
        Store store;

        @Parameters(paramLabel = "ID", description = "The entry's id, as mxd quarantine list prints it.")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Quarantine q;
            try {
                q = store.quarantine(spec);
            } catch (ConfigException e) {
                return fail(spec, "invalid configuration: " + e.getMessage(), ExitCodes.CONFIG);
            }
            try {
                boolean found = act(q, out);
                out.flush();
                if (!found) {
                    return fail(spec, "no entry " + id + " in " + q.directory() + " (see mxd quarantine list)", ExitCodes.PERMANENT);
                }
                return ExitCodes.OK;
            } catch (IOException e) {
                return fail(spec, e.getMessage() + " (in " + q.directory() + ")", ExitCodes.TEMPORARY);
            } catch (ConfigException e) {
                return fail(spec, "invalid configuration: " + e.getMessage(), ExitCodes.CONFIG);
            } catch (NotDeliverable e) {
                return fail(spec, e.getMessage(), ExitCodes.PERMANENT);
            }
        }

        abstract boolean act(Quarantine q, PrintWriter out) throws IOException, ConfigException;
    }

    /** A release that found nobody the configuration still accepts mail for. */
    static final class NotDeliverable extends RuntimeException {
        NotDeliverable(String message) {
            super(message);
        }
    }

    static int fail(CommandLine.Model.CommandSpec spec, String message, int status) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("mxd quarantine " + spec.name() + ": " + message);
        err.flush();
        return status;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Quarantined messages, newest first.")
    static final class ListEntries implements Callable<Integer> {
        @Mixin
        Store store;

        @Option(names = "--json", description = "One JSON object: entries and total.")
        boolean json;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "Entries per page (default ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--offset", paramLabel = "N", defaultValue = "0", description = "Entries to skip (default 0).")
        int offset;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (limit < 1 || offset < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be 1 or more and --offset 0 or more");
            }
            PrintWriter out = spec.commandLine().getOut();
            Quarantine q;
            Quarantine.Page page;
            try {
                q = store.quarantine(spec);
            } catch (ConfigException e) {
                return fail(spec, "invalid configuration: " + e.getMessage(), ExitCodes.CONFIG);
            }
            try {
                page = q.list(offset, limit);
            } catch (IOException e) {
                return fail(spec, e.getMessage() + " (in " + q.directory() + ")", ExitCodes.TEMPORARY);
            }
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.put("total", page.total());
                root.put("offset", offset);
                ArrayNode entries = root.putArray("entries");
                page.entries().forEach(e -> entries.add(e.toJson()));
                out.println(root);
            } else if (page.total() == 0) {
                out.println("quarantine is empty");
            } else {
                out.printf("%-28s %-20s %-30s %s%n", "ID", "ARRIVAL", "SENDER", "REASON");
                for (QuarantineEntry e : page.entries()) {
                    out.printf("%-28s %-20s %-30s %s%n", e.id(), e.arrival().toString().substring(0, 19) + "Z",
                            e.sender().isEmpty() ? "<>" : e.sender(), e.reason());
                }
                out.printf("%d of %d shown%n", page.entries().size(), page.total());
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "An entry's metadata, then its message text.")
    static final class Show extends OneEntry {
        @Override
        boolean act(Quarantine q, PrintWriter out) throws IOException {
            Optional<QuarantineEntry> e = q.find(id);
            if (e.isEmpty()) {
                return false;
            }
            printEntry(out, e.get());
            out.println();
            out.flush();
            try (InputStream in = Files.newInputStream(q.messageFile(id))) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            }
            return true;
        }
    }

    static void printEntry(PrintWriter out, QuarantineEntry e) {
        out.printf("id:         %s%n", e.id());
        out.printf("arrival:    %s%n", e.arrival());
        out.printf("queue id:   %s%n", e.queueId());
        out.printf("sender:     %s%n", e.sender().isEmpty() ? "<>" : e.sender());
        out.printf("recipients: %s%n", String.join(", ", e.recipients()));
        out.printf("reason:     %s%n", e.reason());
        out.printf("size:       %d bytes%n", e.size());
        for (String v : e.verdicts()) {
            out.printf("verdict:    %s%n", v);
        }
    }

    @Command(name = "release", mixinStandardHelpOptions = true,
            description = {"Deliver an entry to its original recipients: it goes into the spool as a new message from its"
                    + " original sender, routed by the configuration's domains, without being scanned again.",
                    "A running server delivers it at its next deferred-queue scan (delivery.scan-interval); a stopped one when"
                            + " it starts. Needs --config."})
    static final class Release extends OneEntry {
        @Override
        boolean act(Quarantine q, PrintWriter out) throws IOException, ConfigException {
            MxdConfig c = store.config(spec, ": a released message is routed by its domains");
            Clock clock = Clock.systemUTC();
            Spool spool = Spool.attach(q.directory().resolveSibling("spool"), c.hostname(), clock);
            QuarantineRelease.Outcome o = new QuarantineRelease(q, spool, new DomainPolicy(c), clock,
                    QuarantineRelease.HandOver.DEFERRED_NOW).release(id);
            if (o instanceof QuarantineRelease.Outcome.NotFound) {
                return false;
            }
            if (o instanceof QuarantineRelease.Outcome.NoRecipients n) {
                throw new NotDeliverable(id + " not released: the configuration " + store.config + " accepts none of its recipients: "
                        + String.join(", ", n.refused()));
            }
            QuarantineRelease.Outcome.Queued queued = (QuarantineRelease.Outcome.Queued) o;
            printEntry(out, queued.entry());
            for (String r : queued.refused()) {
                out.printf("not sent:   %s%n", r);
            }
            out.printf("released:   queued as %s%n", queued.queueId());
            return true;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete an entry for good.")
    static final class Delete extends OneEntry {
        @Override
        boolean act(Quarantine q, PrintWriter out) throws IOException {
            if (!q.delete(id)) {
                return false;
            }
            out.printf("deleted %s%n", id);
            return true;
        }
    }
}
