package dev.mxd.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the unit suite free of outside programs: a test class whose source starts one of the
 * packaged daemons this package drives (Knot, Postfix, Dovecot, smtp-sink, clamd, spamd, rspamd)
 * must carry {@link PeerTest}, on the class (or a superclass) or on the methods that start it.
 * {@code mxd serve} in its own JVM ({@link MxdProcess}) needs nothing installed and is not counted.
 */
class PeerTestMarkingTest {

    private static final Path SOURCES = Path.of("src/test/java");

    /** A call that starts a daemon from the machine's packages. */
    private static final Pattern STARTS_A_PEER = Pattern.compile(
            "\\b(KnotServer|PostfixServer|PostfixRelay|Dovecot|SmtpSink|Clamd|Spamd|Rspamd)\\.start\\(");

    @Test
    void everyTestThatStartsAPackagedDaemonIsAPeerTest() throws Exception {
        List<String> unmarked = new ArrayList<>();
        for (Path file : testSources()) {
            if (!STARTS_A_PEER.matcher(Files.readString(file)).find()) {
                continue;
            }
            Class<?> type = load(className(file));
            if (!marked(type)) {
                unmarked.add(type.getName());
            }
        }
        assertThat(unmarked).as("test classes that start a packaged daemon without @PeerTest").isEmpty();
    }

    @Test
    void theScanSeesTheKnownPeerTests() throws Exception {
        // Guards the guard: if the pattern or the source root drifted, the check above would pass on nothing.
        assertThat(testSources()).extracting(PeerTestMarkingTest::className)
                .contains("dev.mxd.filter.ClamdClientPeerTest", "dev.mxd.dns.MxResolutionAgainstKnotTest");
        assertThat(marked(load("dev.mxd.dns.MxResolutionAgainstKnotTest"))).isTrue();
        assertThat(marked(PeerTestMarkingTest.class)).isFalse();
    }

    /** Test classes only (named *Test): helpers and benchmarks are reached through the tests that use them. */
    private static List<Path> testSources() {
        try (Stream<Path> files = Files.walk(SOURCES)) {
            return files.filter(f -> f.getFileName().toString().endsWith("Test.java")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String className(Path file) {
        String relative = SOURCES.relativize(file).toString();
        return relative.substring(0, relative.length() - ".java".length()).replace(file.getFileSystem().getSeparator(), ".");
    }

    /** Loaded, not initialised: no test class's static set-up runs for this check. */
    private static Class<?> load(String name) throws ClassNotFoundException {
        return Class.forName(name, false, PeerTestMarkingTest.class.getClassLoader());
    }

    private static boolean marked(Class<?> type) {
        if (type.isAnnotationPresent(PeerTest.class)) { // @Inherited: a contract's subclasses count
            return true;
        }
        Method[] methods = type.getDeclaredMethods();
        return Arrays.stream(methods).anyMatch(m -> m.isAnnotationPresent(PeerTest.class));
    }
}
