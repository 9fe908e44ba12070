package dev.mxd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mxd queue}: look at and steer the queue of a running {@code mxd serve}, through its admin
 * listener (docs/operations.md). Postfix's mailq, postqueue -f/-i/-s and postsuper -d/-h/-H in one command,
 * and a reset of the host status (which MX hosts are passed over after a failure) that Postfix has no command for.
 */
@Command(name = "queue", mixinStandardHelpOptions = true,
        description = {"List and steer the queue of a running mxd serve, through its admin listener (listen.admin).",
                "Exit status: 0 done, 1 no such message (or not in a state that allows it), 64 usage error,"
                        + " 69 no server to talk to, 75 the message is being delivered, or the server could not do it now or did not"
                        + " answer within 60 s (try again), 77 token refused, 78 bad configuration."},
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.Show.class, QueueCommand.Flush.class, QueueCommand.Delete.class,
                QueueCommand.Hold.class, QueueCommand.Release.class, QueueCommand.Hosts.class})
final class QueueCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "name a queue command: list, show, flush, delete, hold, release or hosts");
    }

    /** {@code --config}: which server to talk to. */
    static final class Server {
        @Option(names = "--config", paramLabel = "FILE",
                description = "The configuration mxd serve runs with: its listen.admin and admin token are used."
                        + " Without it: 127.0.0.1:8025 and ./mxd-data/admin.token (mxd serve without --config).")
        Path config;
    }

    /** One request to the admin API, its output, and the exit status; failures printed the same way everywhere. */
    abstract static class AdminCall implements Callable<Integer> {
        @Mixin
        Server server;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = TerminalText.guard(spec.commandLine().getOut()); // replies and errors of remote servers are shown
            try {
                int status = run(AdminClient.forConfig(server.config), out);
                out.flush();
                return status;
            } catch (AdminClient.Failure f) {
                out.flush();
                PrintWriter err = spec.commandLine().getErr();
                err.println("mxd " + spec.qualifiedName(" ").replaceFirst("^mxd ", "") + ": " + f.getMessage());
                err.flush();
                return f.status;
            }
        }

        abstract int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure;

        /**
         * A queue id as the command line gave it, checked before it goes into a request's path: a
         * pasted space is let go, anything else that is not an id is a usage error ("ID/flush?" would
         * have turned a hold into a flush, "<ID>" ended in a stack trace).
         */
        String queueId(String given) {
            String id = given.strip();
            if (!id.matches("[0-9A-Z]{6,20}")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "'" + given + "' is not a queue id: 6 to 20 capital"
                        + " letters and digits, as mxd queue list shows them");
            }
            return id;
        }
    }

    /**
     * A command on messages: for each id, a request to {@code /api/queue/ID[suffix]}, then the API's answer in a line. With
     * several ids (Postfix's postsuper takes several too), one that fails is told on standard error and the others are done;
     * the exit status is then 75 when one was being delivered (try again), else 1. A failure to reach the server stops at once.
     */
    abstract static class OnOneMessage extends AdminCall {
        @Parameters(paramLabel = "ID", arity = "1..*", description = "The queue id, as mxd queue list prints it; several may be given.")
        List<String> ids;

        private final String method;
        private final String suffix;
        private final java.util.function.Function<JsonNode, String> done;

        OnOneMessage(String method, String suffix, java.util.function.Function<JsonNode, String> done) {
            this.method = method;
            this.suffix = suffix;
            this.done = done;
        }

        @Override
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            List<String> checked = ids.stream().map(this::queueId).toList(); // every id checked before any change
            int status = ExitCodes.OK;
            for (String id : checked) {
                // A failure to reach the server (no answer in time included) is thrown from change: the rest would fare no
                // better. The server's refusal for this message (not there, on hold, being delivered) is returned.
                Optional<AdminClient.Failure> refused = change(admin, out, id);
                if (refused.isPresent()) {
                    AdminClient.Failure f = refused.get();
                    if (checked.size() == 1) {
                        throw f;
                    }
                    out.flush();
                    PrintWriter err = spec.commandLine().getErr();
                    err.println("mxd " + spec.qualifiedName(" ").replaceFirst("^mxd ", "") + ": " + f.getMessage());
                    err.flush();
                    status = status == ExitCodes.TEMPORARY || f.status == ExitCodes.TEMPORARY ? ExitCodes.TEMPORARY : f.status;
                }
            }
            return status;
        }

        private Optional<AdminClient.Failure> change(AdminClient admin, PrintWriter out, String id) throws AdminClient.Failure {
            String path = "/api/queue/" + id + suffix;
            AdminClient.Response r = method.equals("DELETE") ? admin.delete(path) : admin.post(path);
            try {
                checkChange(r);
            } catch (AdminClient.Failure f) {
                if (r.status() == 404 || r.status() == 409) {
                    return Optional.of(f); // about this message
                }
                throw f;
            }
            out.println(id + ": " + done.apply(r.json()));
            return Optional.empty();
        }
    }

    /** 404: no such message (exit 1); 409: refused, temporary when it is being delivered (75), else 1. */
    static void checkChange(AdminClient.Response r) throws AdminClient.Failure {
        if (r.status() == 404) {
            throw new AdminClient.Failure(r.error(), ExitCodes.PERMANENT);
        }
        if (r.status() == 409) {
            boolean busy = r.json().path("state").asText().equals("active");
            throw new AdminClient.Failure(r.error(), busy ? ExitCodes.TEMPORARY : ExitCodes.PERMANENT);
        }
        if (r.status() != 200) {
            throw new AdminClient.Failure("unexpected answer " + r.status() + ": " + r.error(), ExitCodes.SOFTWARE);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Messages in the queue, oldest first: id, state, age, size, sender, each recipient with its state and last reply.")
    static final class ListMessages extends AdminCall {
        @Option(names = "--json", description = "The API's answer as it is: total, states, messages.")
        boolean json;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "Messages per page, 1 to 1000 (default ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--offset", paramLabel = "N", defaultValue = "0", description = "Messages to skip (default 0).")
        int offset;

        @Override
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            if (limit < 1 || limit > 1000 || offset < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be 1 to 1000 and --offset 0 or more");
            }
            AdminClient.Response r = admin.get("/api/queue?offset=" + offset + "&limit=" + limit);
            checkChange(r);
            JsonNode page = r.json();
            if (json) {
                out.println(page.toString());
                return ExitCodes.OK;
            }
            if (page.path("total").asInt() == 0) {
                out.println("queue is empty");
                return ExitCodes.OK;
            }
            out.printf("%-14s %-9s %6s %9s  %s%n", "ID", "STATE", "AGE", "SIZE", "SENDER / RECIPIENTS");
            for (JsonNode m : page.path("messages")) {
                printMessage(out, m);
            }
            JsonNode st = page.path("states");
            out.printf("-- %d message(s): %d incoming, %d active, %d deferred, %d hold; %d shown from %d%n", page.path("total").asInt(),
                    st.path("incoming").asInt(), st.path("active").asInt(), st.path("deferred").asInt(), st.path("hold").asInt(),
                    page.path("messages").size(), offset);
            return ExitCodes.OK;
        }
    }

    static void printMessage(PrintWriter out, JsonNode m) {
        String sender = m.path("sender").isNull() ? "?" : m.path("sender").asText(); // null: the envelope cannot be read
        String next = m.path("next_attempt").isNull() ? "" : "  next attempt " + toSeconds(m.path("next_attempt").asText());
        out.printf("%-14s %-9s %6s %9d  <%s>%s%n", m.path("id").asText(), m.path("state").asText(),
                age(m.path("age_seconds").asLong()), m.path("size").asLong(), sender, next);
        if (m.has("envelope_error")) {
            out.printf("%42s%s%n", "", m.path("envelope_error").asText());
        }
        for (JsonNode r : m.path("recipients")) {
            String reply = r.path("last_reply").asText();
            out.printf("%42s<%s> %s%s%n", "", r.path("address").asText(), r.path("state").asText(), reply.isEmpty() ? "" : " (" + reply + ")");
        }
    }

    /** An API time as the list prints it, to the second; as given when it is no time. */
    static String toSeconds(String instant) {
        try {
            return java.time.Instant.parse(instant).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        } catch (java.time.format.DateTimeParseException notATime) {
            return instant;
        }
    }

    /** 42s, 7m, 3h, 2d: as wide as mailq's. */
    static String age(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return d.toMinutes() + "m";
        }
        return seconds < 86_400 ? d.toHours() + "h" : d.toDays() + "d";
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One message: envelope, state, next attempt, each recipient's last reply.")
    static final class Show extends AdminCall {
        @Parameters(paramLabel = "ID", description = "The queue id.")
        String id;

        @Option(names = "--json", description = "The API's answer as it is.")
        boolean json;

        @Override
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            AdminClient.Response r = admin.get("/api/queue/" + queueId(id));
            checkChange(r);
            JsonNode m = r.json();
            if (json) {
                out.println(m.toString());
                return ExitCodes.OK;
            }
            out.printf("id:           %s%n", m.path("id").asText());
            out.printf("state:        %s%n", m.path("state").asText());
            out.printf("arrival:      %s (%s ago)%n", toSeconds(m.path("arrival").asText()), age(m.path("age_seconds").asLong()));
            out.printf("size:         %d bytes%n", m.path("size").asLong());
            out.printf("sender:       %s%n", m.path("sender").isNull() ? "unknown" : "<" + m.path("sender").asText() + ">");
            if (m.path("requiretls").asBoolean(false)) {
                out.printf("requiretls:   yes (RFC 8689: only to MX hosts authenticated by DANE or MTA-STS)%n");
            }
            out.printf("next attempt: %s%n", m.path("next_attempt").isNull() ? "none (on hold or being delivered)" : toSeconds(m.path("next_attempt").asText()));
            if (m.has("envelope_error")) {
                out.printf("error:        %s%n", m.path("envelope_error").asText());
            }
            for (JsonNode rc : m.path("recipients")) {
                out.printf("recipient:    <%s> %s via %s%s%n", rc.path("address").asText(), rc.path("state").asText(),
                        rc.path("destination").asText(), rc.path("last_reply").asText().isEmpty() ? "" : " (" + rc.path("last_reply").asText() + ")");
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "flush", mixinStandardHelpOptions = true,
            description = "Try deferred mail now: every deferred message, the one named, or those to one domain (--domain)."
                    + " Dead MX hosts it goes to are forgotten (all of them, or those of the message's or domain's destinations),"
                    + " so a host that came back is tried at once.")
    static final class Flush extends AdminCall {
        @Parameters(paramLabel = "ID", arity = "0..1", description = "Only this message.")
        String id;

        @Option(names = "--domain", paramLabel = "DOMAIN",
                description = "Only the deferred mail to this domain (Postfix's postqueue -s DOMAIN); its MX hosts are forgotten.")
        String domain;

        @Override
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            if (domain != null) {
                if (id != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "name a message ID or --domain, not both");
                }
                AdminClient.Response r = admin.post("/api/queue/flush?domain="
                        + java.net.URLEncoder.encode(domain, java.nio.charset.StandardCharsets.UTF_8));
                if (r.status() == 400) {
                    throw new CommandLine.ParameterException(spec.commandLine(), r.error());
                }
                checkChange(r);
                out.printf("%d deferred message(s) to %s due now%n", r.json().path("flushed").asInt(), r.json().path("domain").asText());
                return ExitCodes.OK;
            }
            if (id == null) {
                AdminClient.Response r = admin.post("/api/queue/flush");
                checkChange(r);
                out.printf("%d deferred message(s) due now%n", r.json().path("flushed").asInt());
                return ExitCodes.OK;
            }
            AdminClient.Response r = admin.post("/api/queue/" + queueId(id) + "/flush");
            checkChange(r);
            out.println(id + ": due now");
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a message for good: no delivery, no bounce. Refused while it is being delivered.")
    static final class Delete extends OnOneMessage {
        Delete() {
            super("DELETE", "", answer -> "deleted (was " + answer.path("from").asText() + ")");
        }
    }

    @Command(name = "hold", mixinStandardHelpOptions = true, description = "Put a message on hold: it is not delivered until released.")
    static final class Hold extends OnOneMessage {
        Hold() {
            super("POST", "/hold", answer -> "on hold");
        }
    }

    @Command(name = "release", mixinStandardHelpOptions = true, description = "Take a message off hold; it is tried at once.")
    static final class Release extends OnOneMessage {
        Release() {
            super("POST", "/release", answer -> "released, due now");
        }
    }

    @Command(name = "hosts", mixinStandardHelpOptions = true,
            description = {"MX hosts: those passed over after a connection failure (until when, last error) and those that took mail lately.",
                    "With --reset: forget the connection failures of every MX host, or of the one named, so it is tried at the next attempt."})
    static final class Hosts extends AdminCall {
        @Option(names = "--json", description = "The API's answer as it is.")
        boolean json;

        @Option(names = "--reset", description = "Forget connection failures: of every MX host, or of HOST.")
        boolean reset;

        @Parameters(paramLabel = "HOST", arity = "0..1",
                description = "With --reset: an MX host name, an address, address:port ([IPv6]:port), or HOST[ADDRESS]:PORT as listed.")
        String host;

        @Override
        int run(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            if (reset) {
                return reset(admin, out);
            }
            if (host != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "HOST goes with --reset (mxd queue hosts --reset HOST)");
            }
            AdminClient.Response r = admin.get("/api/hosts");
            checkChange(r);
            JsonNode hosts = r.json();
            if (json) {
                out.println(hosts.toString());
                return ExitCodes.OK;
            }
            if (hosts.path("hosts").isEmpty()) {
                out.println("no MX host failed or took mail since mxd started");
                return ExitCodes.OK;
            }
            out.printf("%-40s %-10s %-25s %s%n", "HOST[ADDRESS]:PORT", "STATE", "UNTIL / LAST ACCEPTED", "LAST ERROR");
            for (JsonNode h : hosts.path("hosts")) {
                boolean up = h.path("state").asText().equals("up");
                out.printf("%-40s %-10s %-25s %s%n", h.path("address").asText(), h.path("state").asText(),
                        toSeconds(up ? h.path("last_accepted").asText() : h.path("retry_at").asText()),
                        up ? "" : h.path("last_error").asText() + " (" + h.path("failures").asInt() + " failure(s))");
            }
            return ExitCodes.OK;
        }

        private int reset(AdminClient admin, PrintWriter out) throws AdminClient.Failure {
            String path = "/api/hosts/reset" + (host == null ? ""
                    : "?host=" + java.net.URLEncoder.encode(host, java.nio.charset.StandardCharsets.UTF_8));
            AdminClient.Response r = admin.post(path);
            if (r.status() == 400) {
                throw new CommandLine.ParameterException(spec.commandLine(), r.error());
            }
            checkChange(r);
            JsonNode answer = r.json();
            if (json) {
                out.println(answer.toString());
            } else {
                for (JsonNode h : answer.path("hosts")) {
                    out.println(h.asText() + ": host status reset");
                }
                out.printf("%d MX address(es) will be tried at the next attempt%n", answer.path("reset").asInt());
            }
            if (host != null && answer.path("reset").asInt() == 0) {
                throw new AdminClient.Failure("no MX host matching " + host + " has failed (see mxd queue hosts)", ExitCodes.PERMANENT);
            }
            return ExitCodes.OK;
        }
    }
}