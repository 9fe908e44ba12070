package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Command-line handling of {@code mxd check} that needs no network. */
class CheckCommandTest {

    private static int run(StringWriter err, String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    @Test
    void durationsAreWrittenWithAUnit() {
        DurationConverter c = new DurationConverter();
        assertThat(c.convert("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(c.convert("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.convert("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.convert("1h")).isEqualTo(Duration.ofHours(1));
        assertThatThrownBy(() -> c.convert("30")).hasMessageContaining("like 500ms, 5s, 30s or 2m");
        assertThatThrownBy(() -> c.convert("0s")).hasMessageContaining("longer than zero");
        assertThatThrownBy(() -> c.convert("-5s")).isInstanceOf(CommandLine.TypeConversionException.class);
    }

    @Test
    void badCommandLinesExitWithUsage() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "check", "example.test", "--timeout", "5x")).isEqualTo(64);
        assertThat(err.toString()).contains("'5x' is not a duration");
        assertThat(run(new StringWriter(), "check", "example.test", "--port", "0", "--dns", "127.0.0.1:9")).isEqualTo(64);
        assertThat(run(new StringWriter(), "check", "bad..domain", "--dns", "127.0.0.1:9")).isEqualTo(64);
        assertThat(run(new StringWriter(), "check")).isEqualTo(64);
    }
}
