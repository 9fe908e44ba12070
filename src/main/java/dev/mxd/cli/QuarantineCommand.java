package dev.mxd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.ops.QuarantineOperations;
import dev.mxd.ops.QuarantineRelease;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mxd quarantine}: what the filter held back, for an operator to look at, release or delete.
 * With {@code --config} of a server that has an admin listener it asks that server's admin API
 * (release re-injects into the spool at once). With {@code --config} of one without, it works on
 * that configuration's data directory: a release goes into the spool as a new message, due now,
 * which a running server picks up at its next deferred-queue scan. With {@code --data-dir} alone
 * (no configuration to route by) a released entry waits in {@code released/} for the next start.
 * With neither, it uses the defaults {@code mxd queue} uses: the embedded configuration of
 * {@code mxd serve} without {@code --config}, that is the admin listener 127.0.0.1:8025 and the
 * token in {@code ./mxd-data/admin.token}.
 */
@Command(name = "quarantine", mixinStandardHelpOptions = true,
        description = {"List, show, release or delete quarantined messages.",
                "Exit status: 0 done, 1 no such entry (or nobody left to release to), 75 the quarantine or spool could not"
                        + " be read or written, 78 invalid configuration, 64 usage error, 69 (--config) no server to talk to,"
                        + " 77 token refused, or root working on a data directory that belongs to another user (run it as that user)."},
        subcommands = {QuarantineCommand.ListEntries.class, QuarantineCommand.Show.class, QuarantineCommand.Release.class,
                QuarantineCommand.Delete.class})
final class QuarantineCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a quarantine command: list, show, release or delete");
    }

    /**
     * Where the quarantine is: a data directory (offline), or the server run with a configuration
     * (admin API); without either, the server run with the embedded default, as for {@code mxd queue}.
     */
    static final class Store {
        @CommandLine.ArgGroup(exclusive = true, multiplicity = "0..1")
        Where where;

        static final class Where {
            @Option(names = "--data-dir", paramLabel = "DIR", required = true,
                    description = "mxd's data directory; the quarantine is DIR/quarantine (works while mxd is down).")
            Path dataDir;

            @Option(names = "--config", paramLabel = "FILE", required = true,
                    description = "The configuration mxd serve runs with: ask the running server through its admin listener,"
                            + " or, without listen.admin, work on its data directory. Without --config and --data-dir:"
                            + " 127.0.0.1:8025 and ./mxd-data/admin.token (mxd serve without --config), as mxd queue.")
            Path config;
        }

        private MxdConfig loaded;

        /** The configuration file given with --config; null for the embedded default. */
        Path configFile() {
            return where == null ? null : where.config;
        }

        /** The configuration given with --config, or the embedded default without options; empty with --data-dir. */
        Optional<MxdConfig> config() throws ConfigException {
            if (where == null) {
                return Optional.of(MxdConfig.embeddedDefault(System.getProperty("user.name", "postmaster")));
            }
            if (where.config == null) {
                return Optional.empty();
            }
            if (loaded == null) {
                loaded = ConfigLoader.load(where.config);
            }
            return Optional.of(loaded);
        }

        /** The operations on this quarantine: releases routed by --config's domains, or parked with --data-dir. */
        QuarantineOperations operations() throws ConfigException, Refused {
            Optional<MxdConfig> c = config();
            Path dataDir = c.map(MxdConfig::dataDir).orElse(where == null ? null : where.dataDir);
            if (dataDir != null && !Files.isDirectory(dataDir)) {
                // a mistyped --data-dir listed "quarantine is empty" (exit 0), and a release made the path, as root too
                throw new Refused("no data directory " + dataDir + (Files.exists(dataDir) ? " (it is not a directory)" : "")
                        + ": is this the data-dir mxd serve runs with? (it makes the directory at its first start)", ExitCodes.NOINPUT);
            }
            checkUser(dataDir);
            return c.isPresent() ? QuarantineOperations.beside(c.get(), Clock.systemUTC()) : QuarantineOperations.onDataDir(where.dataDir);
        }

        /**
         * Root working on a data directory that belongs to another user (sudo beside an mxd that runs as
         * mxd): the directories, lock and files it makes would be root's, and the server could then
         * neither finish nor forget a release (delivered again at every start). Refused, as Postfix's
         * postsuper works as its mail_owner.
         */
        private static void checkUser(Path dataDir) throws Refused {
            String user = System.getProperty("user.name", "");
            if (dataDir == null || !user.equals("root") || !Files.isDirectory(dataDir)) {
                return;
            }
            try {
                String owner = Files.getOwner(dataDir).getName();
                if (!owner.equals(user)) {
                    throw new Refused(dataDir + " belongs to " + owner + " and this runs as root: files made here would be"
                            + " root's, which mxd (as " + owner + ") could not finish or remove; run it as " + owner
                            + " (sudo -u " + owner + " mxd quarantine ...)", ExitCodes.NOPERM);
                }
            } catch (IOException unknown) {
                // no owner to compare: the operations say what they cannot do
            }
        }

        boolean remote() throws ConfigException {
            return config().map(c -> c.adminListener().isPresent()).orElse(false);
        }

        AdminClient admin() throws AdminClient.Failure {
            return AdminClient.forConfig(configFile());
        }
    }

    /** Standard output could not be written (exit 74). */
    static final class OutputFailed extends IOException {
        OutputFailed(String message) {
            super(message);
        }
    }

    /** The data directory cannot be worked on: not there (exit 66), or another user's (77). */
    static final class Refused extends Exception {
        final int status;

        Refused(String message, int status) {
            super(message);
            this.status = status;
        }
    }

    /** Runs one admin API call for a subcommand; a failure is printed and becomes the exit status. */
    @FunctionalInterface
    interface RemoteCall {
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure;
    }

    static int remote(CommandLine.Model.CommandSpec spec, Store store, RemoteCall call) {
        PrintWriter out = spec.commandLine().getOut();
        try {
            int status = call.run(store.admin(), out);
            out.flush();
            return status;
        } catch (AdminClient.Failure f) {
            out.flush();
            return fail(spec, f.getMessage(), f.status);
        }
    }

    /** 404 is "no such entry" (exit 1), with the server's words. */
    static JsonNode answer(AdminClient.Response r) throws AdminClient.Failure {
        QueueCommand.checkChange(r);
        return r.json();
    }

    /** An entry id on the command line, with the answer for one that is not there. */
    abstract static class OneEntry implements Callable<Integer> {
        @Mixin
        Store store;

        @Parameters(paramLabel = "ID", description = "The entry's id, as mxd quarantine list prints it.")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** What act() wants the exit status to be when it found the entry (a release with nobody to deliver to). */
        int status = ExitCodes.OK;

        @Override
        public Integer call() {
            id = id.strip(); // a pasted space is let go; anything else that is no id is a usage error before any request
            if (!Quarantine.isId(id)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "'" + id + "' is not a quarantine id, such as"
                        + " 20261203T135210123Z-0f3a9c2e, as mxd quarantine list shows them");
            }
            PrintWriter out = spec.commandLine().getOut();
            QuarantineOperations q;
            try {
                if (store.remote()) {
                    return remote(spec, store, this::actRemote);
                }
                q = store.operations();
            } catch (ConfigException e) {
                return fail(spec, e.getMessage(), ExitCodes.CONFIG);
            } catch (Refused e) {
                return fail(spec, e.getMessage(), e.status);
            }
            try {
                boolean found = act(q, out);
                out.flush();
                if (!found) {
                    return fail(spec, "no entry " + id + " in " + q.directory() + " (see mxd quarantine list)", ExitCodes.PERMANENT);
                }
                return status;
            } catch (OutputFailed e) {
                return fail(spec, e.getMessage(), ExitCodes.IOERR); // | head, a full disk behind >: not the quarantine's
            } catch (IOException e) {
                return fail(spec, e.getMessage() + " (in " + q.directory() + ")", ExitCodes.TEMPORARY);
            }
        }

        abstract boolean act(QuarantineOperations q, PrintWriter out) throws IOException;

        abstract int actRemote(AdminClient admin, PrintWriter out) throws AdminClient.Failure;
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
            QuarantineOperations q;
            try {
                if (store.remote()) {
                    return remote(spec, store, (admin, o) -> {
                        JsonNode page = answer(admin.get("/api/quarantine?offset=" + offset + "&limit=" + limit));
                        List<QuarantineEntry> entries = new ArrayList<>();
                        for (JsonNode e : page.path("entries")) {
                            entries.add(entry(e));
                        }
                        List<String> unreadable = new ArrayList<>();
                        page.path("unreadable").forEach(u -> unreadable.add(u.asText()));
                        PrintWriter shown = TerminalText.guard(o); // subjects and senders are the messages' own
                        print(shown, entries, page.path("total").asInt(), offset, unreadable);
                        shown.flush();
                        return ExitCodes.OK;
                    });
                }
                q = store.operations();
            } catch (ConfigException e) {
                return fail(spec, e.getMessage(), ExitCodes.CONFIG);
            } catch (Refused e) {
                return fail(spec, e.getMessage(), e.status);
            }
            Quarantine.Page page;
            try {
                page = q.list(offset, limit);
            } catch (IOException e) {
                return fail(spec, e.getMessage() + " (in " + q.directory() + ")", ExitCodes.TEMPORARY);
            }
            PrintWriter shown = TerminalText.guard(out); // subjects and senders are the messages' own
            print(shown, page.entries(), page.total(), offset, page.unreadable());
            shown.flush();
            return ExitCodes.OK;
        }

        private void print(PrintWriter out, List<QuarantineEntry> entries, int total, int offset, List<String> unreadable) {
            if (json) {
                out.println(QuarantineOperations.pageJson(entries, total, offset, unreadable));
            } else if (total == 0) {
                out.println("quarantine is empty");
            } else {
                out.printf("%-28s %-20s %-30s %s%n", "ID", "ARRIVAL", "SENDER", "REASON");
                for (QuarantineEntry e : entries) {
                    out.printf("%-28s %-20s %-30s %s%n", e.id(), e.arrival().toString().substring(0, 19) + "Z",
                            e.sender().isEmpty() ? "<>" : e.sender(), e.reason());
                }
                for (String u : unreadable) {
                    out.printf("unreadable entry %s (mxd quarantine delete takes it away)%n", u);
                }
                out.printf("%d of %d shown%s%n", entries.size(), total, unreadable.isEmpty() ? "" : ", " + unreadable.size() + " unreadable");
            }
        }
    }

    /** An entry from the admin API's JSON (the same fields as the stored metadata). */
    static QuarantineEntry entry(JsonNode o) throws AdminClient.Failure {
        try {
            return QuarantineEntry.fromJson(o);
        } catch (IOException e) {
            throw new AdminClient.Failure("the admin API sent a quarantine entry without all its fields: " + o, ExitCodes.SOFTWARE);
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "An entry's metadata, then its message text.")
    static final class Show extends OneEntry {
        @Override
        boolean act(QuarantineOperations q, PrintWriter out) throws IOException {
            Optional<QuarantineOperations.Shown> e = q.show(id);
            if (e.isEmpty()) {
                return false;
            }
            printEntry(out, e.get().entry());
            out.println();
            try (InputStream in = Files.newInputStream(e.get().text())) {
                writeText(out, in);
            }
            return true;
        }

        @Override
        int actRemote(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            QuarantineEntry e = entry(answer(admin.get("/api/quarantine/" + id)));
            AdminClient.Response text = admin.get("/api/quarantine/" + id + "/message");
            if (text.status() != 200) {
                answer(text);
            }
            printEntry(out, e);
            out.println();
            try {
                writeText(out, new java.io.ByteArrayInputStream(text.octets()));
            } catch (IOException failed) {
                throw new AdminClient.Failure(failed.getMessage(), ExitCodes.IOERR);
            }
            return ExitCodes.OK;
        }

        /**
         * The message text after the metadata, octet for octet as stored, as postcat shows it ({@code show ID >
         * copy.eml} is the message): written to standard output's bytes, not through the text writer, which would
         * turn octets that are not UTF-8 (a Latin-1 body, a character cut at a buffer's end) into U+FFFD. On a
         * terminal a person reads it, and quarantined mail is the hostile kind: its control characters are escaped
         * as the metadata's are (an escape sequence in a header could rewrite the reason and verdict shown above it,
         * or set the terminal's clipboard), its lines ended by a line feed.
         */
        private static void writeText(PrintWriter out, InputStream in) throws IOException {
            writeText(out, in, terminal());
        }

        static void writeText(PrintWriter out, InputStream in, boolean terminal) throws IOException {
            if (terminal) {
                PrintWriter shown = TerminalText.guard(out);
                java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8));
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    shown.println(line); // CRLF, LF or a bare CR: one line end each, never a carriage return that overwrites
                }
                shown.flush();
                if (shown.checkError()) {
                    throw new OutputFailed("cannot write the message text: standard output failed");
                }
                return;
            }
            out.flush();
            in.transferTo(System.out);
            System.out.flush();
            if (System.out.checkError()) {
                throw new OutputFailed("cannot write the message text: standard output failed");
            }
        }

        /** Standard input and output are a terminal (JDK 22 on: Console.isTerminal; before it, a console exists only then). */
        private static boolean terminal() {
            java.io.Console console = System.console();
            if (console == null) {
                return false;
            }
            try {
                return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
            } catch (ReflectiveOperationException olderJdk) {
                return true;
            }
        }
    }

    /** An entry's metadata; its reason and verdicts hold what engines and the message said, so they go through {@link TerminalText}. */
    static void printEntry(PrintWriter to, QuarantineEntry e) {
        PrintWriter out = TerminalText.guard(to);
        out.printf("id:         %s%n", e.id());
        out.printf("arrival:    %s%n", e.arrival().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        out.printf("queue id:   %s%n", e.queueId());
        out.printf("sender:     %s%n", e.sender().isEmpty() ? "<>" : e.sender());
        out.printf("recipients: %s%n", String.join(", ", e.recipients()));
        out.printf("reason:     %s%n", e.reason());
        out.printf("size:       %d bytes%n", e.size());
        for (String v : e.verdicts()) {
            out.printf("verdict:    %s%n", v);
        }
        out.flush();
    }

    @Command(name = "release", mixinStandardHelpOptions = true,
            description = {"Deliver an entry to its original recipients: it goes into the spool as a new message from its"
                    + " original sender, routed by the configuration's domains, without being scanned again.",
                    "With --config of a server with listen.admin, that server queues it at once and prints the new queue id;"
                            + " without listen.admin, it is queued due now and a running server delivers it at its next"
                            + " deferred-queue scan (delivery.scan-interval), a stopped one when it starts.",
                    "With --data-dir the entry moves to DIR/quarantine/released/ and mxd serve injects it when it next starts."})
    static final class Release extends OneEntry {
        @Override
        boolean act(QuarantineOperations q, PrintWriter out) throws IOException {
            QuarantineRelease.Outcome o = q.release(id);
            if (o instanceof QuarantineRelease.Outcome.Queued queued) {
                printEntry(out, queued.entry());
                for (String r : queued.refused()) {
                    TerminalText.guard(out).printf("not sent:   %s%n", r); // the recipient's own text and a server's reply
                }
                queued.kept().ifPresent(k -> out.printf("kept:       %s, in the quarantine for the recipients not sent%n", k.id()));
                out.printf("released:   queued as %s%n", queued.queueId());
                return true;
            }
            if (o instanceof QuarantineRelease.Outcome.Parked p) {
                printEntry(out, p.entry());
                out.printf("released:   %s%n", p.messageFile());
                // parked for the next start: a server running on the directory now does not look there until then
                Path dataDir = q.directory().toAbsolutePath().getParent();
                dev.mxd.node.NodeStart.runningOn(dataDir).ifPresent(pid -> spec.commandLine().getErr().println(
                        "mxd quarantine release: warning: mxd serve (process " + pid + ") runs on " + dataDir + " and queues"
                        + " this release only when it next starts; to deliver it now, release it with --config FILE of that"
                        + " server (through its listen.admin), or restart it"));
                return true;
            }
            if (o instanceof QuarantineRelease.Outcome.NoRecipients n) {
                spec.commandLine().getErr().println("mxd quarantine release: " + id + " not released: the configuration "
                        + store.configFile() + " accepts none of its recipients: " + String.join(", ", n.refused())
                        + (n.entry().id().equals(id) ? "" : "; it is in the quarantine as " + n.entry().id()));
                status = ExitCodes.PERMANENT;
                return true;
            }
            return false; // NotFound
        }

        @Override
        int actRemote(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            JsonNode o = answer(admin.post("/api/quarantine/" + id + "/release"));
            printEntry(out, entry(o));
            o.path("not_sent").forEach(r -> TerminalText.guard(out).printf("not sent:   %s%n", r.asText()));
            if (o.hasNonNull("kept_as")) {
                out.printf("kept:       %s, in the quarantine for the recipients not sent%n", o.path("kept_as").asText());
            }
            out.printf("released:   queued as %s%n", o.path("released_as").asText());
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete an entry for good.")
    static final class Delete extends OneEntry {
        @Override
        boolean act(QuarantineOperations q, PrintWriter out) throws IOException {
            if (!q.delete(id)) {
                return false;
            }
            out.printf("deleted %s%n", id);
            return true;
        }

        @Override
        int actRemote(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            answer(admin.delete("/api/quarantine/" + id));
            out.printf("deleted %s%n", id);
            return ExitCodes.OK;
        }
    }
}
