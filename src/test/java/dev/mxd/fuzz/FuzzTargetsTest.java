package dev.mxd.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Jazzer target, fuzzed for a short bounded time ({@code -Dmxd.fuzz.seconds}, default 10)
 * in its own JVM. A finding fails the test with Jazzer's report; it then becomes a regression
 * unit test of the code it found (as SmtpCommandTest did for a 501 quoting a bare LF). bench/fuzz.sh
 * runs the same targets for minutes.
 */
@PeerTest
class FuzzTargetsTest {

    static Stream<Class<?>> targets() {
        return FuzzCampaign.TARGETS.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void fuzzingFindsNothing(Class<?> target) throws Exception {
        int seconds = Integer.getInteger("mxd.fuzz.seconds", 10);
        Path dir = Files.createTempDirectory("mxd-fuzz");
        try {
            FuzzCampaign.Result r = FuzzCampaign.run(target, seconds, dir);
            System.out.printf("fuzz %s: %d inputs in %d s, exit %d%n", target.getSimpleName(), r.runs(), seconds, r.exitCode());
            assertThat(r.exitCode()).as(r.output()).isZero();
            assertThat(r.runs()).as(r.output()).isPositive();
        } finally {
            TestDirs.deleteTree(dir);
        }
    }
}
