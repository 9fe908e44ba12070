package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Loop detection by hop count (RFC 5321 §6.3): a message that arrives with more Received fields
 * than {@code limits.max-hops} (default 50, as Postfix's hopcount_limit) is refused at the end of
 * DATA with 554 5.4.6 and not queued; one at the limit is delivered; the session goes on.
 */
class HopCountTest {

    private static String message(int hops, String subject) {
        StringBuilder m = new StringBuilder();
        for (int i = 0; i < hops; i++) {
            m.append("Received: from hop").append(i).append(".test by hop").append(i + 1).append(".test;\r\n")
                    .append("\tThu, 3 Dec 2026 10:00:00 +0000\r\n");
        }
        return m.append("Subject: ").append(subject).append("\r\n\r\nlooping?\r\n.\r\n").toString();
    }

    private static String send(RawSmtp c, String text) throws Exception {
        c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(354);
        c.send(text);
        return c.reply();
    }

    @Test
    void moreReceivedFieldsThanTheDefaultFiftyIsRefusedAsALoop() throws Exception {
        try (TestMx mx = TestMx.start(""); RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(send(c, message(51, "fifty-one"))).startsWith("554 5.4.6").contains("51 Received", "more than 50");
            assertThat(send(c, message(50, "fifty"))).startsWith("250 ");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> mx.delivered("alice").size() == 1);
            assertThat(java.nio.file.Files.readString(mx.delivered("alice").get(0))).contains("Subject: fifty\n");
        }
    }

    @Test
    void theLimitIsConfigurable() throws Exception {
        try (TestMx mx = TestMx.start("limits:\n  max-hops: 2\n"); RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(send(c, message(3, "three"))).startsWith("554 5.4.6");
            assertThat(send(c, message(2, "two"))).startsWith("250 ");
        }
    }
}
