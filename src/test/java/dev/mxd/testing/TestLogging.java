package dev.mxd.testing;

import org.slf4j.LoggerFactory;

/** Logging as the tests start with it, for a test that changed it (LogSetup, as mxd serve does). */
public final class TestLogging {

    private TestLogging() {}

    /** Back to logback.xml for the tests that run after this one in the same JVM. */
    public static void restoreDefault() throws Exception {
        ch.qos.logback.classic.LoggerContext ctx = (ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        new ch.qos.logback.classic.util.ContextInitializer(ctx).autoConfig();
    }
}
