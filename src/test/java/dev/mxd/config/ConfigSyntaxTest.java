package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 15 point 7: a configuration mistake is reported the way an operator can act on it: a key
 * written twice names both lines, a YAML syntax error names line, column and what is wrong in a
 * sentence, and an unknown key lists only keys the file may use.
 */
class ConfigSyntaxTest {

    private static final Path FILE = Path.of("mxd.yaml");

    private static ConfigException error(String yaml) {
        return ConfigLoaderTest.error(yaml);
    }

    @Test
    void aTopLevelKeyWrittenTwiceIsAnErrorNamingBothLines() {
        ConfigException e = error("hostname: mx1.example.test\ndata-dir: /tmp/x\nhostname: mx2.example.test\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).isEqualTo("mxd.yaml:3: duplicate key 'hostname': first on line 1, again on line 3; keep one of them");
    }

    /**
     * YAML 1.1 reads 010 as octal 8 and 0x20 as 32: max-recipients: 010 let in 8 recipients and max-message-size: 010
     * refused every message, with no word. Postfix's main.cf, Exim and YAML 1.2 read 010 as ten: such a number is an
     * error on its line, with the number it would have been and what to write.
     */
    @Test
    void aNumberWithALeadingZeroOrABasePrefixIsAnError() throws Exception {
        ConfigException octal = error("hostname: mx1.example.test\nlimits:\n  max-recipients: 010\n");
        assertThat(octal.line()).isEqualTo(3);
        assertThat(octal.getMessage()).isEqualTo("mxd.yaml:3: limits.max-recipients: 010 is a number YAML reads in another base (8),"
                + " not as written; write it without the leading 0 (10), or in quotes if it is text");
        assertThat(error("limits: {max-hops: 0x20}\n").getMessage()).contains("limits.max-hops: 0x20 is a number YAML reads in another"
                + " base (32)");
        assertThat(error("domains:\n  example.test:\n    role: local\n    mailboxes: [alice, 007]\n").getMessage())
                .startsWith("mxd.yaml:4: domains.example.test.mailboxes[1]: 007 is a number").contains("or in quotes if it is text");
        // a plain 0, and numbers without a leading zero, are what they say
        assertThat(ConfigLoader.parse("limits: {max-recipients: 10}\ndelivery: {port: 25}\n", FILE).limits().maxRecipients()).isEqualTo(10);
    }

    /**
     * A section's own check (a range, two keys that disagree) failed where Jackson finished reading the section: its
     * last line, or a line past the end of the file. The line is the key the message names, else the section's key.
     */
    @Test
    void aSectionsOwnCheckNamesTheLineOfItsKey() {
        assertThat(error("hostname: mx1.example.test\ndelivery:\n  port: 70000\n  concurrency: 5\nlimits:\n  max-recipients: 5\n")
                .line()).isEqualTo(3);
        assertThat(error("timeouts:\n  greet-pause: 0s\n  command: 5d\nlimits:\n  max-recipients: 5\n").line()).isEqualTo(3);
        assertThat(error("hostname: mx1_example.test\ndomains:\n  example.test: {role: local, mailboxes: [alice]}\n").line())
                .isEqualTo(1);
        ConfigException twice = error("domains:\n  example.test:\n    role: local\n    mailboxes: [alice]\n  Example.TEST:\n"
                + "    role: backup\nlimits:\n  max-recipients: 5\n");
        assertThat(twice.line()).isEqualTo(5);
        assertThat(twice.getMessage()).contains("domain 'Example.TEST' is listed twice");
    }

    /** Jackson's words for common slips (a role not indented under its domain, a number for a network) are not shown. */
    @Test
    void commonSlipsAreSaidInTheFilesWords() {
        ConfigException noRole = error("domains:\n  example.test:\n    mailboxes: [alice]\n");
        assertThat(noRole.getMessage()).isEqualTo("mxd.yaml:2: domains.example.test: role is missing; write role: local or role: backup");
        ConfigException flat = error("domains:\n  example.test:\n  role: local\n");
        assertThat(flat.getMessage()).contains("expected a mapping").contains("indented under their key").doesNotContain("Creator")
                .doesNotContain("dev.mxd");
        assertThat(error("trusted-networks: [127.1]\n").getMessage()).contains("expected a network such as").doesNotContain("dev.mxd");
        assertThat(error("listen: {smtp: [2525]}\n").getMessage()).contains("expected an address and port such as")
                .doesNotContain("dev.mxd");
    }

    @Test
    void aNestedKeyWrittenTwiceNamesItsSection() {
        ConfigException e = error("domains:\n  example.test:\n    role: local\n    mailboxes: [postmaster]\n    role: backup\n");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.getMessage()).contains("duplicate key 'role' in domains.example.test: first on line 3, again on line 5");
    }

    @Test
    void aKeyWrittenTwiceInsideAListItemOrFlowMappingIsFound() {
        assertThat(error("listen:\n  smtp: [\"127.0.0.1:2525\"]\n  admin: \"127.0.0.1:8025\"\n  smtp: [\"127.0.0.1:2526\"]\n").getMessage())
                .contains("duplicate key 'smtp' in listen: first on line 2, again on line 4");
        assertThat(error("delivery: {port: 25, retry: {first: 1m, first: 2m}}\n").getMessage())
                .contains("duplicate key 'first' in delivery.retry: first on line 1, again on line 1");
    }

    /**
     * A test or an operator shortens one bound alone: {max: 2s} means a first wait of 2 s too, and
     * {first: 2h} a longest wait of 2 h; both were refused (max shorter than the default first). Both
     * bounds written crossed are still an error, printed as they are written.
     */
    @Test
    void oneRetryBoundWrittenAloneMovesTheOtherDefault() throws Exception {
        Delivery d = ConfigLoader.parse("delivery:\n  retry: {max: 1m}\n  host-retry: {max: 2s}\n", FILE).delivery();
        assertThat(d.retry().first()).isEqualTo(java.time.Duration.ofMinutes(1));
        assertThat(d.retry().max()).isEqualTo(java.time.Duration.ofMinutes(1));
        assertThat(d.hostRetry().first()).isEqualTo(java.time.Duration.ofSeconds(2));
        Delivery longer = ConfigLoader.parse("delivery:\n  retry: {first: 2h}\n  host-retry: {first: 2h}\n", FILE).delivery();
        assertThat(longer.retry().max()).isEqualTo(java.time.Duration.ofHours(2));
        assertThat(longer.hostRetry().max()).isEqualTo(java.time.Duration.ofHours(2));
        assertThat(ConfigLoaderTest.error("delivery:\n  host-retry: {first: 1m, max: 2s}\n").getMessage())
                .contains("delivery.host-retry.max (2s) is shorter than first (1m)");
    }

    @Test
    void theSameKeyInDifferentMappingsIsFine() throws Exception {
        MxdConfig c = ConfigLoader.parse("delivery:\n  retry: {first: 1m, max: 2m}\n  host-retry: {first: 1m, max: 2m}\n"
                + "domains:\n  a.test: {role: backup}\n  b.test: {role: backup}\n", FILE);
        assertThat(c.domains()).hasSize(2);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            tab indentation    | hostname: mx.test\\n\\tdata-dir: /x\\n       | 2 | 1 | a tab character; YAML indents with spaces only
            colon in value     | hostname: mx.test\\nlog:\\n  level: a: b\\n | 3 | 11 | a ':' that YAML cannot read here
            unclosed list      | hostname: mx.test\\nlimits: [unclosed\\n    | 2 | 9 | the list opened with '[' on line 2 is not closed with ']'
            unclosed mapping   | hostname: mx.test\\nlimits: {a: 1\\n        | 2 | 9 | the mapping opened with '{' on line 2 is not closed with '}'
            unclosed quote     | hostname: mx.test\\ndata-dir: "/x\\n        | 2 | 11 | the quoted value that starts on line 2 has no closing quote
            bad indentation    | listen:\\n  smtp: []\\n admin: x\\n          | 3 | 2 | this line is indented differently
            text after quote   | hostname: mx.test\\ndata-dir: '/x'y\\n      | 2 | 15 | more text after a quoted value
            at sign            | hostname: mx.test\\n@bad: 1\\n              | 2 | 1 | a value cannot start with '@'; put the value in quotes
            """)
    void syntaxErrorsNameLineColumnAndASentence(String name, String yaml, int line, int column, String sentence) {
        ConfigException e = error(yaml.replace("\\n", "\n").replace("\\t", "\t"));
        assertThat(e.line()).as(e.getMessage()).isEqualTo(line);
        assertThat(e.column()).as(e.getMessage()).isEqualTo(column);
        assertThat(e.getMessage()).startsWith("mxd.yaml:" + line + ":" + column + ": " + sentence)
                .doesNotContain("while parsing").doesNotContain("<block").doesNotContain("Source:").doesNotContain("\n");
    }

    /**
     * An alias is refused with its line: the YAML reader mxd's configuration is read with takes *name as the text "name",
     * so `data-dir: *x` passed --check as a relative directory x, defined anchor or not. A '[' left open at the end of
     * the file gets a sentence, not the parser's "expected the node content, but found '<stream end>'".
     */
    @Test
    void anAliasIsRefusedAndABracketOpenAtTheEndIsSaid() {
        for (String yaml : List.of("hostname: mx.test\ndata-dir: *x\n", "hostname: &h mx.test\ndata-dir: /x\nlog:\n  file: *h\n")) {
            ConfigException e = error(yaml);
            assertThat(e.getMessage()).as(yaml).matches("mxd\\.yaml:[24]: an alias \\(\\*[xh]\\) is not read in mxd's configuration.*");
        }
        ConfigException open = error("hostname: mx.test\nlimits: [\n");
        assertThat(open.getMessage()).contains("the file ends where a value was expected: a '[' or '{' above is not closed")
                .doesNotContain("<stream end>");
    }

    @ParameterizedTest(name = "section ''{0}''")
    @ValueSource(strings = {"", "listen", "dns", "delivery", "delivery.retry", "delivery.host-retry", "limits", "timeouts", "log",
            "domains.example.test"})
    void knownKeysAreTheFilesOwnAndEachIsAccepted(String section) {
        ConfigException e = error(nest(section, "no-such-key: 1"));
        String message = e.getMessage();
        assertThat(message).contains("unknown key 'no-such-key'").contains("known keys here: ");
        List<String> known = List.of(message.substring(message.indexOf("known keys here: ") + "known keys here: ".length()).split(", "));
        assertThat(known).isNotEmpty().allSatisfy(k -> assertThat(k).matches("[a-z0-9]+(-[a-z0-9]+)*"));
        assertThat(known).doesNotContain("smtpListeners", "dataDir", "adminTokenFile", "connectTimeout", "maxRecipients");
        for (String k : known) {
            String withKey = nest(section, k + ": ~");
            try {
                ConfigLoader.parse(withKey, FILE);
            } catch (ConfigException other) {
                assertThat(other.getMessage()).as("'%s' is listed as known in '%s'", k, section).doesNotContain("unknown key");
            }
        }
    }

    /** {@code line} placed under the dotted {@code section} (top level when empty), with a role for a domain. */
    private static String nest(String section, String line) {
        List<String> parts = section.isEmpty() ? List.of()
                : section.startsWith("domains.") ? List.of("domains", section.substring("domains.".length()))
                : List.of(section.split("\\."));
        StringBuilder b = new StringBuilder();
        String indent = "";
        for (String p : parts) {
            b.append(indent).append(p).append(":\n");
            indent += "  ";
        }
        if (section.startsWith("domains.") && !line.startsWith("role:")) {
            b.append(indent).append("role: backup\n");
        }
        return b.append(indent).append(line).append('\n').toString();
    }
}
