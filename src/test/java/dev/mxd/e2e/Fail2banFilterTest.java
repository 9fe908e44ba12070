package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * packaging/fail2ban/mxd.conf against what a real mxd writes: a real {@code mxd serve} refuses
 * real commands, and the real {@code fail2ban-regex} (Debian's fail2ban) must find every
 * permanent refusal, with the client's address as the host to ban, and nothing else.
 */
@PeerTest
class Fail2banFilterTest {

    private static final Path FILTER = Path.of("packaging/fail2ban/mxd.conf");

    @Test
    void theFilterMatchesEveryPermanentRefusalInRealLogOutput() throws Exception {
        Path dir = Files.createTempDirectory("mxd-fail2ban");
        try {
            int port = FreePort.tcpAndUdp("127.0.0.1");
            Path config = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(dir.resolve("data"), port,
                    "timeouts:\n  greet-pause: 0s\n"));
            Path log = dir.resolve("mxd.log");
            try (MxdProcess mx = MxdProcess.serve(config, log)) {
                try (RawSmtp c = new RawSmtp(new InetSocketAddress("127.0.0.1", port))) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO scanner.example\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("MAIL FROM:<probe@scanner.example>\r\n");
                    assertThat(c.reply()).startsWith("250");
                    for (String user : new String[] {"admin", "info", "sales"}) {
                        c.send("RCPT TO:<" + user + "@example.test>\r\n");
                        assertThat(c.reply()).startsWith("550");
                    }
                    c.send("XCLIENT NAME=spoofed\r\n");
                    assertThat(c.reply()).startsWith("500"); // unknown here: no ban for trying a command
                    c.send("DATA\r\n");
                    assertThat(c.reply()).startsWith("503"); // no valid recipient yet; that ends the transaction
                    c.send("MAIL FROM:<probe@scanner.example>\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("RCPT TO:<alice@example.test>\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("DATA\r\n");
                    assertThat(c.reply()).startsWith("354");
                    c.send("Received: from a by b; Mon, 7 Dec 2026 10:00:00 +0000\r\n".repeat(60) + "Subject: loop\r\n\r\nx\r\n.\r\n");
                    assertThat(c.reply()).startsWith("554 5.4.6"); // a mail loop between two servers: no ban either
                    c.send("QUIT\r\n");
                    assertThat(c.reply()).startsWith("221");
                }
                // a password guesser: AUTH where none is offered, once a connection
                try (RawSmtp c = new RawSmtp(new InetSocketAddress("127.0.0.1", port))) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO guesser.example\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("AUTH LOGIN\r\n");
                    assertThat(c.reply()).startsWith("502");
                    c.send("QUIT\r\n");
                    assertThat(c.reply()).startsWith("221");
                }
                Await.within(Duration.ofSeconds(10), () -> Files.readString(log).contains("auth=0/1"));
            }
            String text = Files.readString(log);
            assertThat(text).contains("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 ");

            String out = fail2banRegex(log);
            Matcher total = Pattern.compile("Failregex: (\\d+) total").matcher(out);
            assertThat(total.find()).as(out).isTrue();
            // three unknown users, the DATA out of order, and the session that tried AUTH
            assertThat(Integer.parseInt(total.group(1))).as(out).isEqualTo(5);
            assertThat(out).as("the dates are understood").doesNotContain("no date");
            Matcher lines = Pattern.compile("Lines: (\\d+) lines, (\\d+) ignored, (\\d+) matched").matcher(out);
            assertThat(lines.find()).as(out).isTrue();
            long rejectLines = text.lines().filter(l -> l.contains("NOQUEUE: reject:") && l.matches(".*\\]: 5\\d\\d .*")
                    && !l.matches(".*\\]: (50[02] |554 5\\.4\\.6 ).*")).count();
            assertThat(text).contains("]: 500 ").contains("]: 554 5.4.6 ");
            assertThat(text).contains("ehlo=1 auth=0/1 quit=1 commands=2/3");
            assertThat(Integer.parseInt(lines.group(3))).as("only the permanent refusals and the AUTH session match: %s", out)
                    .isEqualTo((int) rejectLines + 1);
            assertThat(out).contains("127.0.0.1");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    /** What {@code fail2ban-regex --print-all-matched} says of {@code log} with the packaged filter; it must succeed. */
    static String fail2banRegex(Path log) throws Exception {
        Process p = new ProcessBuilder("fail2ban-regex", "--print-all-matched", log.toString(), FILTER.toAbsolutePath().toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("fail2ban-regex ends").isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
