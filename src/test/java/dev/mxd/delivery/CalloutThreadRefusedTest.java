package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.RecipientVerifier.Verdict;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.client.ClientSettings;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A recipient callout when the JVM cannot start a thread for the probe ("unable to create native
 * thread"; the callout's threads time out when idle and are started again when needed). Before,
 * the error escaped from verify() and left the address's lookup registered as running for ever:
 * every later RCPT to that address waited on it and was answered 451 until a restart. Now each
 * call gets an unknown verdict at once (the backup MX answers 4xx, as for an unreachable primary)
 * and a later call, once threads can be had again, probes afresh.
 */
class CalloutThreadRefusedTest {

    @Test
    void noThreadForTheProbeIsAnUnknownVerdictAndNothingIsLeftRunning() throws Exception {
        AtomicInteger refused = new AtomicInteger();
        RecipientCallout callout = new RecipientCallout(null, null, null, ClientSettings.defaults("backup.test"),
                new VerificationCache(100, Clock.systemUTC()), Duration.ofSeconds(5), 2, r -> {
                    refused.incrementAndGet();
                    throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
                });
        try {
            Mailbox who = Mailbox.parse("someone@primary.test");
            for (int i = 1; i <= 2; i++) {
                CompletableFuture<Verdict> verdict = callout.verify(who, "primary.test", Duration.ofHours(1), Duration.ofMinutes(5))
                        .toCompletableFuture();
                assertThat(verdict).as("call %d answered at once", i).isDone();
                assertThat(verdict.get(1, TimeUnit.SECONDS)).isInstanceOf(Verdict.Unknown.class);
                assertThat(((Verdict.Unknown) verdict.get()).reason()).contains("no thread");
                assertThat(refused.get()).as("call %d tried to start a thread of its own", i).isEqualTo(i);
            }
        } finally {
            callout.close();
        }
    }
}
