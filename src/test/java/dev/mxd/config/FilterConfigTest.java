package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/** The filters: and filter: sections exactly as issue 7 writes them, and the messages for mistakes. */
class FilterConfigTest {

    /** The loader on the server branch reads YAML into maps; JSON maps are the same shape. */
    static Map<?, ?> map(String json) throws Exception {
        return new ObjectMapper().readValue(json.replace('\'', '"'), Map.class);
    }

    @Test
    void issueSevenFiltersSection() throws Exception {
        FiltersConfig c = FiltersConfig.fromMap(map("{'clamd': {'address': '127.0.0.1:3310'}, 'spamd': {'address': '127.0.0.1:783'},"
                + " 'rspamd': {'url': 'http://127.0.0.1:11333'}, 'timeout': '30s', 'on-error': 'tempfail'}"));
        assertThat(c).isEqualTo(new FiltersConfig(
                Optional.of(new FiltersConfig.Clamd(new EngineAddress.Tcp("127.0.0.1", 3310), FiltersConfig.Clamd.DEFAULT_STREAM_MAX_LENGTH)),
                Optional.of(new FiltersConfig.Spamd(new EngineAddress.Tcp("127.0.0.1", 783), "mxd")),
                Optional.of(new FiltersConfig.Rspamd(URI.create("http://127.0.0.1:11333"))),
                Duration.ofSeconds(30), FiltersConfig.OnError.TEMPFAIL, FiltersConfig.OnTooLarge.ACCEPT));
    }

    @Test
    void spamEnginesHaveAMaxSizeAsSpamcHas() throws Exception {
        FiltersConfig defaults = FiltersConfig.fromMap(map("{'spamd': {'address': '127.0.0.1:783'}, 'rspamd': {'url': 'http://127.0.0.1:11333'}}"));
        assertThat(defaults.spamd().orElseThrow().maxSize()).isEqualTo(500L * 1024);
        assertThat(defaults.rspamd().orElseThrow().maxSize()).isEqualTo(50L * 1024 * 1024);
        FiltersConfig set = FiltersConfig.fromMap(map("{'spamd': {'address': '127.0.0.1:783', 'max-size': '2M'},"
                + " 'rspamd': {'url': 'http://127.0.0.1:11333', 'max-size': '1M'}}"));
        assertThat(set.spamd().orElseThrow().maxSize()).isEqualTo(2L * 1024 * 1024);
        assertThat(set.rspamd().orElseThrow().maxSize()).isEqualTo(1024L * 1024);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'spamd': {'address': '127.0.0.1:783', 'max-size': '0'}}")))
                .hasMessageContaining("filters.spamd.max-size").hasMessageContaining("larger than zero");
    }

    @Test
    void unixSocketSizesAndAccept() throws Exception {
        FiltersConfig c = FiltersConfig.fromMap(map("{'clamd': {'address': 'unix:/run/clamav/clamd.ctl', 'stream-max-length': '100M'},"
                + " 'timeout': '500ms', 'on-error': 'accept', 'on-too-large': 'reject'}"));
        assertThat(c.clamd().orElseThrow()).isEqualTo(new FiltersConfig.Clamd(
                new EngineAddress.Unix(Path.of("/run/clamav/clamd.ctl")), 100L * 1024 * 1024));
        assertThat(c.timeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.onError()).isEqualTo(FiltersConfig.OnError.ACCEPT);
        assertThat(c.onTooLarge()).isEqualTo(FiltersConfig.OnTooLarge.REJECT);
    }

    @Test
    void issueSevenDomainFilter() throws Exception {
        DomainFilter f = DomainFilter.fromMap("example.test", map("{'engines': ['clamd', 'spamd'], 'virus': 'reject',"
                + " 'spam': {'tag': 5.0, 'quarantine': 10.0, 'reject': 15.0, 'subject-prefix': '[SPAM] '}}"));
        assertThat(f).isEqualTo(new DomainFilter(List.of(Engine.CLAMD, Engine.SPAMD), DomainFilter.VirusAction.REJECT,
                Optional.of(new SpamPolicy(OptionalDouble.of(5), OptionalDouble.of(10), OptionalDouble.of(15), OptionalDouble.empty(),
                        Optional.of("[SPAM] "), false))));
    }

    @Test
    void mistakesNameTheKeyAndTheFix() throws Exception {
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'clamd': {'adress': '127.0.0.1:3310'}}")))
                .hasMessage("filters.clamd: unknown key 'adress' (known keys: address, stream-max-length)");
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'clamd': {}}")))
                .hasMessage("filters.clamd.address is required, for example 127.0.0.1:3310");
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'spamd': {'address': 'localhost'}}")))
                .hasMessageStartingWith("filters.spamd.address: 'localhost' is not an engine address");
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'timeout': '30 seconds'}")))
                .hasMessageStartingWith("filters.timeout: '30 seconds' is not a duration");
        // three engines in turn must answer within the 10 minutes a client waits after its final dot
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'timeout': '5m'}"))).hasMessageContaining("filters.timeout is at most 3m");
        assertThat(FiltersConfig.fromMap(map("{'timeout': '3m'}")).timeout()).isEqualTo(Duration.ofMinutes(3));
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'on-error': 'bounce'}")))
                .hasMessage("filters.on-error: 'bounce' is not one of tempfail | accept");
        assertThatThrownBy(() -> FiltersConfig.fromMap(map("{'rspamd': {'url': 'ftp://x'}}")))
                .hasMessageContaining("must be an http:// URL");
        assertThatThrownBy(() -> DomainFilter.fromMap("example.test", map("{'engines': ['clamav']}")))
                .hasMessage("domains.example.test.filter.engines: unknown engine 'clamav': use one of clamd, spamd, rspamd");
        assertThatThrownBy(() -> DomainFilter.fromMap("example.test", map("{'virus': 'reject'}")))
                .hasMessageContaining("engines is required");
        assertThatThrownBy(() -> DomainFilter.fromMap("example.test", map("{'engines': ['spamd'], 'spam': {'tag': 'high'}}")))
                .hasMessageStartingWith("domains.example.test.filter.spam.tag: 'high' is not a number");
        assertThatThrownBy(() -> DomainFilter.fromMap("example.test", map("{'engines': ['spamd'], 'spam': {}}")))
                .hasMessageContaining("give at least one of tag");
    }

    @Test
    void domainEnginesMustBeConfigured() throws Exception {
        FiltersConfig c = FiltersConfig.fromMap(map("{'clamd': {'address': '127.0.0.1:3310'}}"));
        DomainFilter f = DomainFilter.fromMap("example.test", map("{'engines': ['clamd', 'rspamd']}"));
        assertThatThrownBy(() -> c.check("example.test", f)).hasMessage("domains.example.test.filter.engines lists rspamd,"
                + " but filters.rspamd is not configured: add filters.rspamd.url or remove it from the list");
    }

    @Test
    void spamStepIsTheHighestThresholdReached() {
        SpamPolicy p = new SpamPolicy(OptionalDouble.of(5), OptionalDouble.of(10), OptionalDouble.of(15), OptionalDouble.empty(),
                Optional.empty(), false);
        assertThat(p.stepFor(4.9)).isEmpty();
        assertThat(p.stepFor(5)).contains(SpamPolicy.Step.TAG);
        assertThat(p.stepFor(12)).contains(SpamPolicy.Step.QUARANTINE);
        assertThat(p.stepFor(1003.7)).contains(SpamPolicy.Step.REJECT);
        SpamPolicy tie = new SpamPolicy(OptionalDouble.of(5), OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.of(5),
                Optional.empty(), false);
        assertThat(tie.stepFor(6)).contains(SpamPolicy.Step.DISCARD);
    }
}
