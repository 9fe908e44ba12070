package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.DeliveryResult;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import org.junit.jupiter.api.Test;

/**
 * A REQUIRETLS message to an MX host whose TLS is authenticated but which does not offer REQUIRETLS:
 * a real Postfix smtpd 3.7 (STARTTLS, no REQUIRETLS). Nothing is sent and the message is returned with
 * 5.7.30 (RFC 8689 §4.2.1, §7.3). The agent and the zone are {@link RequireTlsDeliveryTest}'s.
 */
@PeerTest
class RequireTlsNextHopPeerTest {

    @Test
    void aNextHopWithoutRequireTlsGetsNothingAndTheMessageIsReturned() throws Exception {
        RequireTlsDeliveryTest setup = new RequireTlsDeliveryTest();
        setup.zone();
        int port = FreePort.tcpAndUdp("127.0.0.1");
        try (PostfixServer postfix = PostfixServer.start("127.0.0.1:" + port, "example.test",
                "[127.0.0.1]:" + FreePort.tcpAndUdp("127.0.0.1"))) {
            DeliveryResult r = setup.deliver(setup.agent(port, RequireTlsDeliveryTest.authenticated("sts")), true, "");
            assertThat(r).isInstanceOfSatisfying(DeliveryResult.Failed.class, f -> {
                assertThat(f.status()).isEqualTo(EnhancedStatus.REQUIRETLS_NEEDED);
                assertThat(f.detail()).contains("does not offer REQUIRETLS");
            });
            // 5.7.30 is only reached after the TLS session the policy requires was set up (else 4.7.5); no MAIL followed.
            String log = postfix.log();
            assertThat(log).contains("connect from localhost[127.0.0.1]").doesNotContain("alice@example.test");
        } finally {
            setup.stop();
        }
    }
}
