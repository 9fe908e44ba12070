package dev.mxd.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Every event of mxd's loggers ({@code dev.mxd}) from {@link #start} to {@link #close}, at a
 * level the test chooses; close puts the level back. For tests that assert on log lines.
 */
public final class LogCapture implements AutoCloseable {

    private final Logger logger = (Logger) LoggerFactory.getLogger("dev.mxd");
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Level before;

    private LogCapture(Level level) {
        before = logger.getLevel();
        logger.setLevel(level);
        appender.start();
        logger.addAppender(appender);
    }

    public static LogCapture start(Level level) {
        return new LogCapture(level);
    }

    /** The formatted messages so far, in order. */
    public List<String> lines() {
        synchronized (appender) { // AppenderBase.doAppend adds under the appender's own lock
            return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        logger.setLevel(before);
    }
}
