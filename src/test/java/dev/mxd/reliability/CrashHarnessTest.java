package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.PeerTest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The short run of the crash harness (issue 6 point 1): two rounds, each with a SIGKILL under
 * load and one while delivering; bench/crash.sh runs the long one.
 */
@PeerTest
class CrashHarnessTest {

    @Test
    void noAcknowledgedMessageIsLostAcrossKillNine() throws Exception {
        long seed = System.nanoTime();
        List<CrashHarness.Round> rounds = CrashHarness.run(
                new CrashHarness.Settings(2, 400, 4, Duration.ofMinutes(2), seed), System.out);
        System.out.print(CrashHarness.table(rounds));
        assertThat(rounds).hasSize(2).allSatisfy(r -> {
            assertThat(r.lost()).as("round %d (seed %d): acknowledged and never received", r.round(), seed).isZero();
            assertThat(r.acknowledged()).as("round %d acknowledged something", r.round()).isPositive();
            assertThat(r.received()).isEqualTo(r.acknowledged());
        });
        assertThat(rounds.stream().mapToInt(CrashHarness.Round::spooledAtKills).sum())
                .as("the kills hit mail still in the queue").isPositive();
    }
}
