package dev.mxd.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import dev.mxd.config.Logging;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * Points {@code mxd serve}'s log where the {@code log:} key says: one line per event, with UTC
 * time, level and source, then the event itself, which starts with the queue id wherever there
 * is one ({@code ID: to=<…>, relay=…, delay=…, dsn=…, status=sent (…)}, as Postfix writes it).
 * Standard output by default (a service manager's journal takes it); a file is appended to.
 * The other commands keep logback.xml's default: warnings on standard error.
 */
public final class LogSetup {

    /** UTC timestamps, so lines from several nodes sort together. */
    public static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z',UTC} %-5level %logger{0}: %msg%n";

    private LogSetup() {}

    /**
     * Replaces the root logger's appenders with one for {@code log.file()} (or standard output) and
     * sets mxd's level; {@code levelOverride} (the MXD_LOG_LEVEL variable) wins over the file's level.
     */
    public static void apply(Logging log, Optional<String> levelOverride) throws IOException {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder encoder = encoder(ctx);
        OutputStreamAppender<ILoggingEvent> appender;
        if (log.file().isPresent()) {
            Path file = log.file().get().toAbsolutePath();
            Files.createDirectories(file.getParent());
            if (Files.exists(file) && !Files.isWritable(file)) {
                throw new IOException("log.file " + file + " is not writable by this user");
            }
            FileAppender<ILoggingEvent> f = new FileAppender<>();
            f.setFile(file.toString());
            f.setAppend(true);
            appender = f;
        } else {
            ConsoleAppender<ILoggingEvent> c = new ConsoleAppender<>();
            c.setTarget("System.out");
            appender = c;
        }
        appender.setContext(ctx);
        appender.setName("mxd-serve");
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            // Logback's file appender does not throw when it cannot open its file: it stays stopped, and mxd would run
            // with no log at all (no status= lines, nothing for fail2ban). Refuse to start instead, saying why.
            if (log.file().filter(java.nio.file.Files::isDirectory).isPresent()) {
                throw new IOException("log.file " + log.file().get() + " is a directory; name a file in it, such as "
                        + log.file().get().resolve("mxd.log"));
            }
            throw new IOException("log.file " + log.file().map(Path::toString).orElse("(standard output)")
                    + " cannot be opened for writing (check the directory's permissions and, under systemd, LogsDirectory=)");
        }
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        root.addAppender(appender);
        Level fromFile = Level.toLevel(log.level().name(), Level.INFO);
        Optional<Level> overridden = levelOverride.map(v -> Level.toLevel(v, null));
        Level level = overridden.orElse(fromFile);
        ctx.getLogger("dev.mxd").setLevel(level);
        if (level.isGreaterOrEqual(Level.WARN)) {
            root.setLevel(level);
        } else {
            root.setLevel(Level.WARN); // libraries stay quiet unless they warn
        }
        Logger says = ctx.getLogger(LogSetup.class);
        if (levelOverride.isPresent() && overridden.isEmpty()) {
            says.warn("MXD_LOG_LEVEL={} is no level (TRACE, DEBUG, INFO, WARN, ERROR or OFF): log.level {} is used",
                    levelOverride.get(), fromFile);
        } else if (overridden.isPresent() && !overridden.get().equals(fromFile)) {
            says.warn("MXD_LOG_LEVEL={} overrides log.level {} of the configuration", overridden.get(), fromFile);
        }
    }

    private static PatternLayoutEncoder encoder(LoggerContext ctx) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern(PATTERN);
        encoder.start();
        return encoder;
    }

    /**
     * Closes and reopens {@code log.file} under its name, so that a file renamed by logrotate is let go
     * and a new one is written ({@code postfix logrotate}). Does nothing when the log goes to standard output.
     */
    public static void reopen() {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        synchronized (LogSetup.class) {
            if (!(root.getAppender("mxd-serve") instanceof FileAppender<ILoggingEvent> old)) {
                return;
            }
            // A new appender is started before the old one goes, so that no line is lost in between (a stopped
            // appender drops what other threads log meanwhile); a line logged during the swap may be in both files.
            FileAppender<ILoggingEvent> next = new FileAppender<>();
            next.setContext(ctx);
            next.setName("mxd-serve");
            next.setFile(old.getFile());
            next.setAppend(true);
            next.setEncoder(encoder(ctx));
            next.start();
            if (!next.isStarted()) {
                // The new file cannot be created (the directory's permissions changed): the old one goes on (into the
                // renamed file, if it was renamed), so say so where an operator still looks.
                System.err.println("mxd: log file " + old.getFile() + " cannot be reopened; lines still go to the file opened"
                        + " before, until a SIGHUP reopens it (check the directory's permissions)");
                return;
            }
            root.addAppender(next);
            root.detachAppender(old);
            // Stopped a little later: a thread that took the old appender before the swap and appends to it now would see
            // it stopped, and logback drops such a line.
            java.util.concurrent.CompletableFuture.delayedExecutor(2, java.util.concurrent.TimeUnit.SECONDS).execute(old::stop);
        }
        ctx.getLogger(LogSetup.class).info("log file {} reopened", root.getAppender("mxd-serve") instanceof FileAppender<?> f
                ? f.getFile() : "");
    }
}
