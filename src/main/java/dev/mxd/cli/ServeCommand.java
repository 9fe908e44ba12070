package dev.mxd.cli;

import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import dev.mxd.node.NodeStart;
import dev.mxd.node.ReceivingMx;
import dev.mxd.node.StopOnSignal;
import dev.mxd.ops.LogSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mxd serve}: run the receiving MX until SIGTERM or SIGINT; SIGHUP reloads its configuration. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Receive mail as a domain's MX: ESMTP server, durable spool, Maildir delivery (docs/config.md).",
                "Without --config: SMTP on 127.0.0.1:2525, local domain localhost with a mailbox for you, data in ./mxd-data.",
                "SIGTERM or SIGINT: stop cleanly (open sessions get 421, deliveries in progress finish or stay queued).",
                "SIGHUP: reload domains, mailboxes, aliases, the recipient delimiter, filters, trusted networks, delivery routes and relay host, and the TLS certificate; reopen log.file.",
                "Exit status: 0 after a clean stop, 78 invalid configuration (also a TLS certificate or key that cannot be used, or a data directory this user cannot write), 75 cannot listen or open the spool."},
        footer = {"", "Examples:", "  mxd serve                             embedded default, for a first look",
                "  mxd serve --config /etc/mxd/mxd.yaml  see packaging/mxd.yaml",
                "  mxd serve --config /etc/mxd/mxd.yaml --check   check it before a reload or restart",
                "  MXD_LOG_LEVEL=DEBUG mxd serve         more detail than the default INFO"})
final class ServeCommand implements Callable<Integer> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "The YAML configuration file (every key: docs/config.md). Default: the embedded configuration above.")
    Path config;

    @Option(names = "--check", description = "Check the configuration and exit, starting nothing: the file, the TLS certificate and"
            + " key, the Maildir owner, the source addresses, whether the data directory and log file can be written. Exit 0"
            + " valid, 78 not (as postfix check; run it before systemctl reload or restart).")
    boolean check;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        MxdConfig c;
        try {
            c = config == null ? MxdConfig.embeddedDefault(System.getProperty("user.name", "postmaster")) : ConfigLoader.load(config);
        } catch (ConfigException e) {
            err.println("mxd serve: invalid configuration: " + e.getMessage());
            err.flush();
            return ExitCodes.CONFIG;
        }
        if (check) {
            NodeStart.Checked checked = NodeStart.check(c, java.util.Optional.ofNullable(config));
            if (!checked.problems().isEmpty()) {
                checked.problems().forEach(p -> err.println("mxd serve: invalid configuration: " + p));
                err.flush();
                return ExitCodes.CONFIG;
            }
            // what a start would warn of, said here too: the check is what an operator runs before a reload
            checked.warnings().forEach(w -> err.println("mxd serve: warning: " + w));
            err.flush();
            out.printf("mxd serve: %s is valid: %d domain(s), %s%n", config == null ? "the embedded configuration" : config,
                    c.domains().size(), c.tls().map(t -> "STARTTLS with " + t.certificate()).orElse("no STARTTLS"));
            out.flush();
            return ExitCodes.OK;
        }
        try {
            // Queue ids and deliveries are what an operator follows: info, to stdout or log.file, by default.
            LogSetup.apply(c.log(), java.util.Optional.ofNullable(System.getenv("MXD_LOG_LEVEL")));
        } catch (IOException e) {
            err.println("mxd serve: cannot write the log: " + e.getMessage());
            err.flush();
            return ExitCodes.CONFIG;
        }
        StopOnSignal running = StopOnSignal.starting();
        out.printf("mxd starting as %s%n", c.hostname());
        out.flush();
        // with log.file the banner and a failed start's reason go into the log too, where monitoring and fail2ban look
        boolean logFile = c.log().file().isPresent();
        if (logFile) {
            LOG.info("mxd starting as {} ({})", c.hostname(), config == null ? "embedded default configuration" : config);
        }
        NodeStart start = NodeStart.attempt(c);
        if (!(start instanceof NodeStart.Running)) {
            running.notStarted();
        }
        if (start instanceof NodeStart.UnusableSetting u) {
            // A wrong key or a missing user will not get better by restarting (systemd restarts on 75).
            err.println("mxd serve: invalid configuration: " + u.reason());
            err.flush();
            if (logFile) {
                LOG.error("mxd serve: invalid configuration: {}; not started (exit 78)", u.reason());
            }
            return ExitCodes.CONFIG;
        }
        if (start instanceof NodeStart.Failed f) {
            String why = NodeStart.describe(f.cause());
            err.println("mxd serve: cannot start: " + why);
            err.flush();
            if (logFile) {
                LOG.error("mxd serve: cannot start: {} (exit 75)", why);
            }
            return ExitCodes.TEMPORARY;
        }
        ReceivingMx mx = ((NodeStart.Running) start).mx();
        running.started(mx, java.util.Optional.ofNullable(config));
        out.printf("mxd serving as %s (%s)%n", c.hostname(), config == null ? "embedded default configuration" : config);
        if (logFile) {
            LOG.info("mxd serving as {}: smtp {}", c.hostname(),
                    mx.smtpAddresses().stream().map(ServeCommand::hostPort).collect(Collectors.joining(", ")));
        }
        out.printf("  smtp:    %s%n", mx.smtpAddresses().stream().map(ServeCommand::hostPort).collect(Collectors.joining(", ")));
        c.domains().forEach((name, d) -> out.printf("  domain:  %s (%s)%s%n", name, d.role().key(),
                d.mailboxes().isEmpty() ? "" : " mailboxes " + String.join(", ", d.mailboxes().stream().sorted().toList())));
        out.printf("  spool:   %s%n", mx.spool().root().toAbsolutePath().normalize());
        out.printf("  mail:    %s%n", c.dataDir().resolve("mail").toAbsolutePath().normalize());
        mx.adminAddress().ifPresent(a -> out.printf("  admin:   http://%s/ (status page, API, /metrics; token in %s)%n",
                hostPort(a), c.adminToken().toAbsolutePath().normalize()));
        out.printf("  tls:     %s%n", c.tls().map(t -> "STARTTLS with " + t.certificate()).orElse("off (no certificate configured)"));
        out.flush();
        running.await();
        return ExitCodes.OK;
    }

    /** ADDRESS:PORT, an IPv6 address in brackets ([::1]:2525), as a URL or a configuration writes it. */
    static String hostPort(java.net.InetSocketAddress a) {
        return new dev.mxd.config.HostPort(a.getAddress(), a.getPort()).toString();
    }
}
