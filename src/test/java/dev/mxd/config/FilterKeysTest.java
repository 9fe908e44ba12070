package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The filters: and domains.NAME.filter: keys of issue 7, read strictly with file:line errors. */
class FilterKeysTest {

    static final Path FILE = Path.of("mxd.yaml");

    static final String ISSUE_EXAMPLE = """
            filters:
              clamd: {address: "127.0.0.1:3310"}
              spamd: {address: "127.0.0.1:783"}
              rspamd: {url: "http://127.0.0.1:11333"}
              timeout: 30s
              on-error: tempfail
            domains:
              example.test:
                role: local
                mailboxes: [alice]
                aliases: {postmaster: alice}
                filter:
                  engines: [clamd, spamd]
                  virus: reject
                  spam: {tag: 5.0, quarantine: 10.0, reject: 15.0, subject-prefix: "[SPAM] "}
              example.org:
                role: backup
            """;

    @Test
    void readsTheIssueExample() throws Exception {
        MxdConfig c = ConfigLoader.parse(ISSUE_EXAMPLE, FILE);
        FiltersConfig f = c.filters();
        assertThat(f.clamd()).isPresent();
        assertThat(f.spamd()).isPresent();
        assertThat(f.rspamd()).isPresent();
        assertThat(f.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(f.onError()).isEqualTo(FiltersConfig.OnError.TEMPFAIL);
        DomainFilter d = c.domain("example.test").orElseThrow().filter().orElseThrow();
        assertThat(d.engines()).containsExactly(Engine.CLAMD, Engine.SPAMD);
        assertThat(d.virus()).isEqualTo(DomainFilter.VirusAction.REJECT);
        assertThat(d.spam().orElseThrow().subjectPrefix()).contains("[SPAM] ");
        assertThat(c.domain("example.org").orElseThrow().filter()).isEmpty();
    }

    @Test
    void withoutFiltersNothingIsScanned() throws Exception {
        MxdConfig c = ConfigLoader.parse("domains:\n  example.org:\n    role: backup\n", FILE);
        assertThat(c.filters()).isEqualTo(FiltersConfig.none());
    }

    @Test
    void unknownKeyInFiltersNamesItsLine() {
        String yaml = ISSUE_EXAMPLE.replace("  timeout: 30s\n", "  timeout: 30s\n  on-eror: accept\n");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("mxd.yaml:6: filters: unknown key 'on-eror'");
    }

    @Test
    void badValueInADomainFilterNamesItsLine() {
        String yaml = ISSUE_EXAMPLE.replace("virus: reject", "virus: bounce");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class)
                .hasMessage("mxd.yaml:14: domains.example.test.filter.virus: 'bounce' is not one of reject | quarantine | discard");
        String unknownEngine = ISSUE_EXAMPLE.replace("[clamd, spamd]", "[clamav]");
        assertThatThrownBy(() -> ConfigLoader.parse(unknownEngine, FILE)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("mxd.yaml:13: domains.example.test.filter.engines: ");
        String badAddress = ISSUE_EXAMPLE.replace("\"127.0.0.1:3310\"", "\"nowhere\"");
        assertThatThrownBy(() -> ConfigLoader.parse(badAddress, FILE)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("mxd.yaml:2: filters.clamd.address: ");
    }

    @Test
    void aDomainFilterNeedsItsEnginesConfigured() {
        String yaml = ISSUE_EXAMPLE.replace("  rspamd: {url: \"http://127.0.0.1:11333\"}\n", "")
                .replace("[clamd, spamd]", "[clamd, rspamd]");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class)
                .hasMessage("mxd.yaml:12: domains.example.test.filter.engines lists rspamd, but filters.rspamd is not configured:"
                        + " add filters.rspamd.url or remove it from the list");
    }

    @Test
    void aFilterThatIsNotAMappingIsRefused() {
        String yaml = ISSUE_EXAMPLE.replace("filters:\n  clamd", "filters: yes\nunused:\n  clamd");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("mxd.yaml:");
    }
}
