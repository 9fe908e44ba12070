package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A next hop that greets and then stops answering (at MAIL, or after the final dot): each message to it held a
 * delivery worker for the whole command timeout and the host was never passed over, so a few such hosts held every
 * worker and mail to every other domain waited minutes at each retry round; one that never answers the final dot
 * was sent each message whole again and again, each a possible duplicate (RFC 1047). As Postfix throttles a
 * destination whose conversation timed out, the host is now passed over until its retry time: the next messages
 * are deferred without a connection.
 */
class HungNextHopTest {

    @Test
    void aHostThatStopsAnsweringAtMailIsPassedOver() throws Exception {
        String silentAt = "MAIL"; // after the final dot: RemoteDeliveryAgentTest (that timeout, 10 minutes, is RFC 5321's)
        try (FakeSmtpServer hung = FakeSmtpServer.start("220 hung.test ESMTP", List.of("PIPELINING"),
                line -> line.toUpperCase(java.util.Locale.ROOT).startsWith(silentAt) ? FakeSmtpServer.SILENCE : null);
             LogCapture log = LogCapture.start(Level.WARN);
             TestMx mx = TestMx.start("delivery:\n  relay-host: \"[127.0.0.1]:" + hung.address().getPort() + "\"\n"
                     + "  command-timeout: 1s\n  retry: {first: 1s, max: 1s, give-up: 1h}\n"
                     + "  host-retry: {first: 1m, max: 2m}\n  scan-interval: 200ms\n")) {
            String first = mx.sendTo("first@far.test");
            assertThat(Await.within(Duration.ofSeconds(20), () -> log.lines().stream().anyMatch(l -> l.contains("passed over until"))))
                    .as(String.join("\n", log.lines())).isTrue();
            assertThat(hung.connections()).isEqualTo(1);
            List<String> next = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                next.add(mx.sendTo("next" + i + "@far.test"));
            }
            // each of them retried every second for 4 s: no session opened to the host passed over
            Thread.sleep(4_000);
            assertThat(hung.connections()).as("sessions to the host that stopped answering").isEqualTo(1);
            for (String id : next) {
                assertThat(mx.mx().spool().state(id)).as(id).hasValueSatisfying(s -> assertThat(s).isIn(QueueState.DEFERRED,
                        QueueState.ACTIVE, QueueState.INCOMING));
            }
            assertThat(mx.mx().spool().state(first)).isPresent(); // waits, never lost or bounced
            assertThat(mx.delivered("alice")).as("no bounce").isEmpty();
        }
    }
}
