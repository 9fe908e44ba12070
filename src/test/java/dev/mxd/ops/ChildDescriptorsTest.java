package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The health probes start {@code stat} to count inodes only with descriptors to spare: the JDK's process start, when a
 * pipe of its fails for want of descriptors, closes two numbers it never set, another owner's socket or journal file.
 */
class ChildDescriptorsTest {

    @Test
    void aChildIsStartedOnlyWithAnEighthOfTheLimitAndThirtyTwoFree() {
        assertThat(HealthProbes.descriptorsToSpare(32, 64)).isTrue();
        assertThat(HealthProbes.descriptorsToSpare(33, 64)).as("31 free of 64").isFalse();
        assertThat(HealthProbes.descriptorsToSpare(60, 64)).as("a process at its limit, as under ulimit -n 64 with load").isFalse();
        assertThat(HealthProbes.descriptorsToSpare(1_000, 65_536)).isTrue();
        assertThat(HealthProbes.descriptorsToSpare(60_000, 65_536)).as("5,536 free, under an eighth").isFalse();
        assertThat(HealthProbes.descriptorsToSpare(-1, 65_536)).as("not known").isFalse();
        assertThat(HealthProbes.descriptorsToSpare()).as("this test's own process has plenty").isTrue();
    }
}
