package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FakeSmtpServer;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A start that fails after the spool is open (a key that is not the certificate's: exit 78) sent queued mail
 * before it failed: the queue started before the listeners and the certificate, and closing it at the failure
 * cut off a delivery after its final dot, so the next start sent that message again. Deliveries now start only
 * once the node is up.
 */
class FailedStartSendsNothingTest {

    @Test
    void aStartThatFailsOnItsCertificateDeliversNothing(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        String relay = "delivery:\n  relay-host: \"[127.0.0.1]:" + port + "\"\n  retry: {first: 1s, max: 1s, give-up: 1h}\n"
                + "  host-retry: {first: 1s, max: 1s}\n  scan-interval: 200ms\n";
        String id;
        try (TestMx first = TestMx.startIn(dir, relay)) { // the next hop is not there yet: the message waits
            id = first.sendTo("bob@far.test");
            assertThat(Await.within(Duration.ofSeconds(10), () -> first.mx().spool().state(id).orElseThrow() == QueueState.DEFERRED))
                    .isTrue();
        }
        Thread.sleep(1_500); // due again
        Path cert = dir.resolve("cert.pem");
        Path otherKey = dir.resolve("other-key.pem");
        Certificates.selfSigned(cert, dir.resolve("key.pem"));
        Certificates.selfSigned(dir.resolve("other-cert.pem"), otherKey);
        try (FakeSmtpServer next = FakeSmtpServer.startOn(new InetSocketAddress("127.0.0.1", port), 10, "220 next.test ESMTP",
                List.of("PIPELINING"), c -> null)) {
            assertThatThrownBy(() -> TestMx.startIn(dir, relay + "tls:\n  certificate: " + cert + "\n  private-key: " + otherKey + "\n"))
                    .hasMessageContaining("is not the key of the certificate");
            Thread.sleep(2_000);
            assertThat(next.commands("MAIL")).as("nothing sent by the start that failed").isEmpty();

            try (TestMx fixed = TestMx.startIn(dir, relay)) { // the premise: the message was due, and goes at the next start
                assertThat(Await.within(Duration.ofSeconds(10), () -> next.commands("MAIL").size() == 1)).isTrue();
                assertThat(Await.within(Duration.ofSeconds(10), () -> fixed.mx().spool().state(id).isEmpty())).isTrue();
            }
        }
    }
}
