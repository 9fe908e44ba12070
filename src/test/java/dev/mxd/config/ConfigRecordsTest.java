package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The configuration records keep copies: changing what they were built from changes nothing. */
class ConfigRecordsTest {

    @Test
    void domainAliasesAreCopiedDeeply() {
        List<String> targets = new ArrayList<>(List.of("alice"));
        Map<String, List<String>> aliases = new HashMap<>(Map.of("postmaster", targets));
        DomainConfig d = new DomainConfig(Role.LOCAL, Set.of("alice", "bob"), aliases, Optional.empty());
        targets.add("bob");
        aliases.clear();
        assertThat(d.aliases()).isEqualTo(Map.of("postmaster", List.of("alice")));
        assertThatThrownBy(() -> d.aliases().get("postmaster").add("bob")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void domainFilterEnginesAreCopied() {
        List<Engine> engines = new ArrayList<>(List.of(Engine.CLAMD));
        DomainFilter f = new DomainFilter(engines, DomainFilter.VirusAction.REJECT, Optional.empty());
        engines.add(Engine.SPAMD);
        assertThat(f.engines()).containsExactly(Engine.CLAMD);
    }
}
