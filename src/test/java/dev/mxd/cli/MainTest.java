package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What {@code mxd}'s main sets up before any command runs. */
class MainTest {

    /** An MXD_LOG_LEVEL that names no level is said (the commands' logging took it as WARN without a word). */
    @Test
    void anUnknownLogLevelIsSaid() {
        assertThat(Main.unknownLogLevel("bogus")).hasValueSatisfying(s -> assertThat(s).contains("MXD_LOG_LEVEL=bogus is no level"));
        assertThat(Main.unknownLogLevel("debug")).isEmpty();
        assertThat(Main.unknownLogLevel(" INFO ")).isEmpty();
        assertThat(Main.unknownLogLevel(null)).isEmpty();
    }

    @Test
    void dnsjavasOwnShutdownHookIsOffUnlessTheOperatorAsksForIt() {
        String before = System.getProperty(Main.DNSJAVA_NIO_HOOK);
        try {
            System.clearProperty(Main.DNSJAVA_NIO_HOOK);
            Main.withoutDnsjavaShutdownHook();
            assertThat(System.getProperty(Main.DNSJAVA_NIO_HOOK)).isEqualTo("false");

            System.setProperty(Main.DNSJAVA_NIO_HOOK, "true"); // -D on the java command line
            Main.withoutDnsjavaShutdownHook();
            assertThat(System.getProperty(Main.DNSJAVA_NIO_HOOK)).isEqualTo("true");
        } finally {
            if (before == null) {
                System.clearProperty(Main.DNSJAVA_NIO_HOOK);
            } else {
                System.setProperty(Main.DNSJAVA_NIO_HOOK, before);
            }
        }
    }
}
