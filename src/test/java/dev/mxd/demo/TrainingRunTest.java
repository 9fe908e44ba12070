package dev.mxd.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's training workload ({@code mxd demo --train}) really relays mail: every message the relaying node
 * accepted with 250 is counted in the receiving node's Maildir, over both kinds of session, and the run cleans up.
 */
class TrainingRunTest {

    @Test
    void everyAcceptedMessageReachesTheReceivingNodesMaildir(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("train");
        StringWriter out = new StringWriter();
        TrainingRun.Outcome o = new TrainingRun(120, Duration.ofSeconds(60)).run(dir, new PrintWriter(out));

        assertThat(o.problems()).isEmpty();
        assertThat(o.sent()).isEqualTo(120);
        assertThat(o.accepted()).isEqualTo(120);
        assertThat(o.delivered()).isEqualTo(120);
        assertThat(o.ok()).isTrue();
        assertThat(out.toString()).startsWith("mxd demo --train: 120 messages sent, 120 accepted, 120 delivered in ");
        assertThat(dir).as("the work directory is removed").doesNotExist();
    }

    @Test
    void messagesAreAbout4KbOfShortLines() {
        byte[] m = TrainingRun.message(7);
        assertThat(m.length).isBetween(4000, 4096);
        String text = new String(m, java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(text).contains("Subject: mxd training message 7\r\n").endsWith("\r\n");
        assertThat(text.split("\r\n")).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(78));
    }

    @Test
    void aRunThatAcceptsNothingIsNotOk() {
        assertThat(new TrainingRun.Outcome(20, 0, 0, java.util.List.of("refused"), 1.0).ok()).isFalse();
        assertThat(new TrainingRun.Outcome(20, 20, 19, java.util.List.of(), 1.0).ok()).isFalse();
    }
}
