package dev.mxd.cli;

import dev.mxd.config.Logging;
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
 * {@code mxd train}, hidden from the help: the {@link TrainingRun} the {@code ./mxd} launcher runs once per build
 * on a JDK with an AOT cache ({@code -XX:AOTCacheOutput}), so that {@code mxd serve} starts with mxd's hot path
 * already loaded, linked and profiled. It logs as {@code mxd serve} does (info), into a file in its temporary
 * directory, so the training exercises the same logging.
 */
@Command(name = "train", hidden = true, mixinStandardHelpOptions = true,
        description = {"Relay a bounded burst of mail end to end on loopback (a DNS server, a relaying node, a receiving "
                + "node, all in this process) and exit: the training run for the launcher's AOT cache.",
                "",
                "Exit status: 0 every accepted message was delivered; 1 not; 75 the run could not start."})
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--messages", paramLabel = "N", defaultValue = "2000",
            description = "Messages to send, half one per connection and half 50 per session (default ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--limit", paramLabel = "DURATION", defaultValue = "60s", converter = DurationConverter.class,
            description = "The most the run may take (default ${DEFAULT-VALUE}); sending stops early when it is up.")
    Duration limit;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (messages < TrainingRun.MIN_MESSAGES || messages > TrainingRun.MAX_MESSAGES) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--messages " + messages + " is out of range; give "
                    + TrainingRun.MIN_MESSAGES + " to " + TrainingRun.MAX_MESSAGES);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            Path dir = Files.createTempDirectory("mxd-train");
            LogSetup.apply(new Logging(Logging.Level.INFO, Optional.of(dir.resolve("mxd.log"))),
                    Optional.ofNullable(System.getenv("MXD_LOG_LEVEL")));
            return new TrainingRun(messages, limit).run(dir, out).ok() ? ExitCodes.OK : ExitCodes.PERMANENT;
        } catch (IOException | UncheckedIOException | IllegalStateException e) {
            out.flush();
            err.println("mxd train: cannot run: " + e.getMessage());
            err.flush();
            return ExitCodes.TEMPORARY;
        }
    }
}
