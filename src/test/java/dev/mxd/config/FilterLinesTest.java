package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A mistake deep in a filter section is reported at the line of the key at fault, with the filter reader's own words. */
class FilterLinesTest {

    private static final Path FILE = Path.of("mxd.yaml");

    private static final String YAML = """
            filters:
              clamd:
                address: "127.0.0.1:3310"
                stream-max-length: 25M
              spamd:
                address: "127.0.0.1:783"
              timeout: 30s
            domains:
              Example.Test:
                role: local
                mailboxes: [alice]
                aliases: {postmaster: alice}
                filter:
                  engines: [clamd, spamd]
                  spam:
                    tag: 5.0
                    subject-prefix: "[SPAM] "
            """;

    private static void fails(String yaml, String message) {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class).hasMessage(message);
    }

    @Test
    void unknownKeyInAnEngine() {
        fails(YAML.replace("    stream-max-length: 25M\n", "    stream-max-length: 25M\n    adress: x\n"),
                "mxd.yaml:5: filters.clamd: unknown key 'adress' (known keys: address, stream-max-length)");
    }

    @Test
    void badSizeAndDuration() {
        fails(YAML.replace("25M", "25 megabytes"),
                "mxd.yaml:4: filters.clamd.stream-max-length: '25 megabytes' is not a size: write bytes or a number with K, M or G, like 25M");
        fails(YAML.replace("25M", "0"), "mxd.yaml:4: filters.clamd.stream-max-length: a size must be larger than zero");
        fails(YAML.replace("timeout: 30s", "timeout: 0"), "mxd.yaml:7: filters.timeout: a timeout must be longer than zero");
        fails(YAML.replace("timeout: 30s", "timeout: soon"),
                "mxd.yaml:7: filters.timeout: 'soon' is not a duration: write a number and a unit, like 500ms, 30s or 2m");
    }

    @Test
    void missingAddress() {
        fails(YAML.replace("    address: \"127.0.0.1:783\"\n", "    user: mxd\n"),
                "mxd.yaml:5: filters.spamd.address is required, for example 127.0.0.1:783");
    }

    /** The highest threshold reached decides: a milder step above a harsher one would invert them, so it is refused. */
    @Test
    void spamStepsRiseFromTagToRejectAndDiscard() throws Exception {
        fails(YAML.replace("        tag: 5.0\n", "        tag: 10.0\n        reject: 5.0\n"),
                "mxd.yaml:16: domains.example.test.filter.spam.tag (10.0) is above reject (5.0): the highest threshold a score"
                + " reaches decides, so a score above both would only be tagged; give thresholds that rise from tag to quarantine"
                + " to reject and discard");
        fails(YAML.replace("        tag: 5.0\n", "        tag: 5.0\n        quarantine: 20.0\n        discard: 15.0\n"),
                "mxd.yaml:17: domains.example.test.filter.spam.quarantine (20.0) is above discard (15.0): the highest threshold a"
                + " score reaches decides, so a score above both would only be quarantined; give thresholds that rise from tag to"
                + " quarantine to reject and discard");
        // reject and discard in either order; equal thresholds are allowed (the harsher step takes a tie)
        ConfigLoader.parse(YAML.replace("        tag: 5.0\n", "        tag: 5.0\n        quarantine: 5.0\n        discard: 30.0\n"
                + "        reject: 15.0\n"), FILE);
    }

    @Test
    void spamStepsAtTheirKeys() {
        fails(YAML.replace("        tag: 5.0\n", "        tag: high\n"),
                "mxd.yaml:16: domains.example.test.filter.spam.tag: 'high' is not a number (a score, like 5.0)");
        fails(YAML.replace("tag: 5.0", "quarantine: 10.0"),
                "mxd.yaml:17: domains.example.test.filter.spam.subject-prefix is set but there is no tag threshold to apply it at: add tag");
        fails(YAML.replace("        tag: 5.0\n        subject-prefix: \"[SPAM] \"\n", "        {}\n").replace("spam:\n        {}", "spam: {}"),
                "mxd.yaml:15: domains.example.test.filter.spam: give at least one of tag, quarantine, reject, discard"
                        + " (score thresholds) or rspamd-action: true; to skip spam handling leave spam out");
    }

    @Test
    void problemsOfARecordAsAWholeAreAtTheSectionKey() {
        fails(YAML.replace("\"[SPAM] \"", "\"[SPAM]\\n\""), "mxd.yaml:13: subject-prefix must be one line");
        fails(YAML.replace("  timeout: 30s\n", "  timeout: 30s\n  on-error: bounce\n"),
                "mxd.yaml:8: filters.on-error: 'bounce' is not one of tempfail | accept");
    }
}
