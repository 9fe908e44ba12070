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

    /** dnsjava's switch for the shutdown hook that closes its NIO selector (read when the selector first starts). */
    static final String DNSJAVA_NIO_HOOK = "dnsjava.nio.register_shutdown_hook";

    public static void main(String[] args) {
        withoutDnsjavaShutdownHook();
        dev.mxd.node.JvmSettings.serverIgnoresClientServerName(); // before any TLS class reads its settings
        if (args.length == 0 || !args[0].equals("serve")) { // serve says it with its configuration's level (LogSetup)
            unknownLogLevel(System.getenv("MXD_LOG_LEVEL")).ifPresent(System.err::println);
        }
        if (args.length > 0 && args[0].equals("serve") && !java.util.Arrays.asList(args).contains("--check")) {
            dev.mxd.node.HangupHold.start(); // before the configuration is read: a reload then must not end mxd
        }
        System.exit(run(args));
    }

    /**
     * dnsjava closes its NIO selector from a shutdown hook of its own, which can wait forever for a selector thread
     * that a query started during the shutdown (seen as an {@code mxd demo} that never ended after SIGTERM). The
     * selector's threads are daemons and end with the JVM: mxd needs no such hook. An operator's own
     * {@code -Ddnsjava.nio.register_shutdown_hook} is kept.
     */
    static void withoutDnsjavaShutdownHook() {
        if (System.getProperty(DNSJAVA_NIO_HOOK) == null) {
            System.setProperty(DNSJAVA_NIO_HOOK, "false");
        }
    }

    /**
     * What to say of an MXD_LOG_LEVEL that names no level: the commands' logging (logback.xml) takes it as its default,
     * WARN, without a word. {@code mxd serve} says it again with its configuration's level (LogSetup).
     */
    static java.util.Optional<String> unknownLogLevel(String value) {
        java.util.Set<String> levels = java.util.Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
        if (value == null || value.isBlank() || levels.contains(value.strip().toUpperCase(java.util.Locale.ROOT))) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("mxd: MXD_LOG_LEVEL=" + dev.mxd.smtp.LogText.safe(value)
                + " is no level (TRACE, DEBUG, INFO, WARN, ERROR or OFF); the default is used");
    }

    /** Runs mxd with these arguments and returns its exit status (for tests and embedding). */
    public static int run(String... args) {
        return commandLine().execute(configAfterSubcommand(args));
    }

    /**
     * {@code mxd queue --config F list} as {@code mxd queue list --config F}: every queue and quarantine command takes
     * {@code --config}, and an operator writes it after {@code queue} as often as after the command's name (as
     * {@code postqueue -c DIR -p}). Only {@code --config FILE} or {@code --config=FILE} right after queue or quarantine moves.
     */
    static String[] configAfterSubcommand(String[] args) {
        if (args.length < 3 || !(args[0].equals("queue") || args[0].equals("quarantine"))) {
            return args;
        }
        int width = args[1].equals("--config") ? 2 : args[1].startsWith("--config=") ? 1 : 0;
        if (width == 0 || args.length <= 1 + width || args[1 + width].startsWith("-")) {
            return args;
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        out.add(args[0]);
        out.add(args[1 + width]); // the command's name
        out.addAll(java.util.Arrays.asList(args).subList(1, 1 + width));
        out.addAll(java.util.Arrays.asList(args).subList(2 + width, args.length));
        return out.toArray(String[]::new);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        useUsageExitCode(cl);
        return cl;
    }

    /**
     * EX_USAGE (64) for a wrong command line, EX_SOFTWARE (70) for a fault of mxd's own (picocli's 1 is "permanent failure"
     * to lookup and "problems found" to check: a script would take a crash for a bounce), and mxd's version for
     * {@code --version}, in every subcommand too.
     */
    private static void useUsageExitCode(CommandLine cl) {
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.USAGE);
        cl.getCommandSpec().exitCodeOnExecutionException(ExitCodes.SOFTWARE);
        cl.getCommandSpec().version(Main.class.getAnnotation(Command.class).version());
        cl.getSubcommands().values().forEach(Main::useUsageExitCode);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command, for example: mxd lookup example.org");
    }
}
