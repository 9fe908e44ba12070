package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mxd demo} in-process (issue 5 point 1): the whole cluster on 127.0.0.10-13, mx1 stopped
 * and started again, and a tally that accounts for every message. It needs no external daemon,
 * so it runs with the unit tests.
 */
class DemoCommandTest {

    record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static long tally(String out, String row) {
        Matcher m = Pattern.compile("(?m)^  " + Pattern.quote(row) + " +(\\d+)").matcher(out);
        assertThat(m.find()).as("tally row '%s' in:%n%s", row, out).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void burstSurvivesThePrimaryGoingAwayAndNothingIsLeftBehind() {
        Run r = run("demo", "--messages", "60");
        assertThat(r.exit()).as("exit status; output:%n%s%nerrors:%n%s", r.out(), r.err()).isZero();
        String out = r.out();
        assertThat(out).contains("mx1 STOPS", "mx1 RETURNS", "result: OK");
        assertThat(tally(out, "sent by the client")).isEqualTo(60);
        assertThat(tally(out, "accepted by sender")).isEqualTo(60);
        assertThat(tally(out, "delivered to mx1's Maildir")).isEqualTo(60);
        assertThat(tally(out, "lost")).isZero();
        assertThat(tally(out, "still queued")).isZero();
        assertThat(tally(out, "bounced")).isZero();
        // 24 messages arrive while mx1 is down; equal preference shares them (one side empty: 2^-23).
        assertThat(tally(out, "accepted by mx2")).isPositive();
        assertThat(tally(out, "accepted by mx3")).isPositive();
        // and only those: after mx1 returns, one message probes it and the rest go straight to mx1, as the timeline
        // says (messages sent while the sender still passed mx1 over went to the backups)
        assertThat(tally(out, "accepted by mx2") + tally(out, "accepted by mx3")).as(out).isEqualTo(24);
        assertThat(tally(out, "accepted by mx1")).isGreaterThanOrEqualTo(60);

        Matcher removed = Pattern.compile("(?m)^removed (.+)$").matcher(out);
        assertThat(removed.find()).as("names the directory it removed:%n%s", out).isTrue();
        assertThat(Path.of(removed.group(1).strip())).doesNotExist();
    }

    @Test
    void keepLeavesConfigsZoneAndMaildir(@TempDir Path tmp) throws Exception {
        Path keep = tmp.resolve("demo");
        Run r = run("demo", "--messages", "10", "--keep", keep.toString());
        assertThat(r.exit()).as("exit status; output:%n%s%nerrors:%n%s", r.out(), r.err()).isZero();
        assertThat(keep.resolve("example.test.zone")).content().contains("MX  10 mx1", "MX  20 mx2", "MX  20 mx3");
        for (String node : new String[] {"sender", "mx1", "mx2", "mx3"}) {
            assertThat(keep.resolve(node + ".yaml")).exists();
        }
        try (Stream<Path> mail = Files.list(keep.resolve("mx1/mail/example.test/alice/Maildir/new"))) {
            assertThat(mail.count()).isEqualTo(10);
        }
        assertThat(r.out()).contains("kept " + keep);
    }

    @Test
    void refusesANonEmptyKeepDirectoryAndOddCounts(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("something"), "x");
        Run busy = run("demo", "--keep", tmp.toString());
        assertThat(busy.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(busy.err()).contains("--keep " + tmp, "not an empty directory");
        Run few = run("demo", "--messages", "3");
        assertThat(few.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(few.err()).contains("--messages 3 is out of range");
    }
}
