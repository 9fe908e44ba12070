package dev.mxd.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code mxd} command: one program for every part of the MX mechanism. */
@Command(name = "mxd", mixinStandardHelpOptions = true, version = "mxd 0.1.0",
        description = "A mail exchanger: publishes, resolves, receives and delivers by DNS MX.",
        footer = {"", "Start with ./mxd demo: an HA MX cluster on this machine in about 10 seconds.",
                "Then mxd COMMAND --help. Docs: README.md and docs/ (config.md lists every",
                "configuration key; architecture.md, mx-resolution.md, spool.md, filters.md);",
                "packaging/ holds a systemd unit and an example configuration.",
                "Environment: MXD_LOG_LEVEL=TRACE|DEBUG|INFO|WARN|ERROR (default WARN; serve:",
                "INFO), MXD_JAVA_OPTS (JVM options for the ./mxd launcher)."},
        exitCodeOnInvalidInput = ExitCodes.USAGE,
        subcommands = {LookupCommand.class, CheckCommand.class, DnsCommand.class, ServeCommand.class,
                QuarantineCommand.class, DemoCommand.class, QueueCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs mxd with these arguments and returns its exit status (for tests and embedding). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        useUsageExitCode(cl);
        return cl;
    }

    /** EX_USAGE (64) for a wrong command line, and mxd's version for {@code --version}, in every subcommand too. */
    private static void useUsageExitCode(CommandLine cl) {
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.USAGE);
        cl.getCommandSpec().version(Main.class.getAnnotation(Command.class).version());
        cl.getSubcommands().values().forEach(Main::useUsageExitCode);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command, for example: mxd lookup example.org");
    }
}
