package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * {@code mxd --help} and {@code mxd COMMAND ... --help} explain every option (issue 5 point 6):
 * walked over the whole command tree, so a command or option added later is checked too.
 */
class HelpTest {

    /** Every command's path from the top: [], [lookup], [quarantine, list], ... */
    private static List<List<String>> paths(CommandLine cl, List<String> prefix) {
        List<List<String>> out = new ArrayList<>();
        out.add(prefix);
        cl.getSubcommands().forEach((name, sub) -> {
            if (sub.getCommandName().equals(name)) { // skip aliases
                List<String> p = new ArrayList<>(prefix);
                p.add(name);
                out.addAll(paths(sub, p));
            }
        });
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyCommandsHelpExitsZeroAndExplainsEveryOption() {
        return paths(Main.commandLine(), List.of()).stream().map(path -> DynamicTest.dynamicTest(
                "mxd " + String.join(" ", path) + " --help", () -> {
                    StringWriter out = new StringWriter();
                    CommandLine cl = Main.commandLine();
                    cl.setOut(new PrintWriter(out));
                    cl.setErr(new PrintWriter(new StringWriter()));
                    List<String> args = new ArrayList<>(path);
                    args.add("--help");
                    assertThat(cl.execute(args.toArray(String[]::new))).isZero();
                    String help = out.toString();
                    CommandLine command = cl;
                    for (String p : path) {
                        command = command.getSubcommands().get(p);
                    }
                    assertThat(String.join(" ", command.getCommandSpec().usageMessage().description()))
                            .as("a description").isNotBlank();
                    for (OptionSpec o : command.getCommandSpec().options()) {
                        if (o.hidden()) {
                            continue;
                        }
                        assertThat(help).as("help mentions %s", o.longestName()).contains(o.longestName());
                        assertDescribed(o, o.longestName());
                    }
                    for (PositionalParamSpec p : command.getCommandSpec().positionalParameters()) {
                        if (!p.hidden()) {
                            assertThat(help).contains(p.paramLabel());
                            assertDescribed(p, p.paramLabel());
                        }
                    }
                    command.getSubcommands().keySet().forEach(sub -> assertThat(help).contains(sub));
                }));
    }

    private static void assertDescribed(ArgSpec a, String name) {
        assertThat(String.join(" ", a.description())).as("description of %s", name).isNotBlank();
    }

    @Test
    void versionWorksOnEverySubcommand() {
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        assertThat(cl.execute("dns", "--version")).isZero();
        assertThat(out.toString()).startsWith("mxd ");
    }

    @Test
    void topLevelHelpPointsToTheDemoTheDocsAndTheEnvironment() {
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        assertThat(cl.execute("--help")).isZero();
        assertThat(out.toString()).contains("./mxd demo", "docs/config.md", "MXD_LOG_LEVEL", "MXD_JAVA_OPTS");
    }
}
