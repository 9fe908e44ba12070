package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.testing.Await;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Issue 3 point 3: the total connection limit (RFC 5321 §3.1 421 instead of a greeting) and the DATA timeout (§4.5.3.2.6). */
class LimitsAndTimeoutsTest {

    @Test
    void connectionsBeyondMaxConnectionsGet421AndAFreedSlotIsUsable() throws Exception {
        try (TestMx mx = TestMx.start("limits:\n  max-connections: 2\n  max-connections-per-ip: 20\n")) {
            List<RawSmtp> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    RawSmtp c = new RawSmtp(mx.smtp());
                    assertThat(c.reply()).startsWith("220 ");
                    open.add(c);
                }
                try (RawSmtp third = new RawSmtp(mx.smtp())) {
                    assertThat(third.reply()).isEqualTo("421 4.7.0 too many connections, try again later");
                    assertThat(third.closedByServer()).isTrue();
                }
                open.remove(0).close();
                // The slot is freed when the server sees the close; bounded retries, no fixed sleep.
                String[] greeting = {""};
                Await.within(Duration.ofSeconds(10), () -> {
                    try (RawSmtp again = new RawSmtp(mx.smtp())) {
                        greeting[0] = again.reply();
                    }
                    return greeting[0].startsWith("220 ");
                });
                assertThat(greeting[0]).startsWith("220 ");
            } finally {
                for (RawSmtp c : open) {
                    c.close();
                }
            }
        }
    }

    @Test
    void clientSilentInDataTimesOutWith421AndLeavesNothing() throws Exception {
        try (TestMx mx = TestMx.start("timeouts:\n  command: 30s\n  data: 400ms\n  greet-pause: 0s\n")) {
            try (RawSmtp c = new RawSmtp(mx.smtp())) {
                assertThat(c.code()).isEqualTo(220);
                c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                assertThat(c.reply()).startsWith("250-");
                assertThat(c.code()).isEqualTo(250);
                assertThat(c.code()).isEqualTo(250);
                assertThat(c.code()).isEqualTo(354);
                c.send("Subject: half a message\r\n\r\nand then silence");
                assertThat(c.reply()).startsWith("421 4.4.2");
                assertThat(c.closedByServer()).isTrue();
            }
            assertThat(mx.mx().spool().ids(QueueState.INCOMING)).isEmpty();
            assertThat(dev.mxd.testing.SpoolFiles.strays(mx.mx().spool().root())).as("the half message's text is gone").isEmpty();
        }
    }
}
