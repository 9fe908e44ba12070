package dev.mxd.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A domain's {@code filter:} section (issue 7): which engines scan its mail, what a virus gets,
 * and the spam steps by score.
 * <pre>
 * filter:
 *   engines: [clamd, spamd]      # any of clamd, spamd, rspamd
 *   virus: reject                # reject | quarantine | discard
 *   spam: {tag: 5.0, quarantine: 10.0, reject: 15.0, subject-prefix: "[SPAM] "}
 * </pre>
 */
public record DomainFilter(List<Engine> engines, VirusAction virus, Optional<SpamPolicy> spam) {

    /** What happens to a message an engine finds a virus in. */
    public enum VirusAction {
        /** 554 5.7.1 with the virus name: the sender learns, no bounce needed (the default). */
        REJECT,
        /** Kept in the quarantine, delivered only if released. */
        QUARANTINE,
        /** Accepted with 250 and dropped. */
        DISCARD
    }

    public DomainFilter {
        engines = List.copyOf(engines);
        if (engines.isEmpty()) {
            throw new IllegalArgumentException("a domain filter names at least one engine");
        }
    }

    /**
     * The value of {@code domains.DOMAIN.filter} as the YAML loader gives it; the loader calls this in
     * its pass over the file. A mistake is a {@link ConfigProblem} whose message names the key path
     * and whose key path is relative to {@code filter}.
     */
    public static DomainFilter fromMap(String domain, Map<?, ?> filter) {
        Section m = new Section("domains." + domain + ".filter", filter).onlyKeys("engines", "virus", "spam");
        List<Engine> engines = new ArrayList<>();
        for (String name : m.strings("engines")) {
            Engine e;
            try {
                e = Engine.fromConfigName(name);
            } catch (IllegalArgumentException ex) {
                throw m.problem("engines", m.at("engines") + ": " + ex.getMessage(), ex);
            }
            if (engines.contains(e)) {
                throw m.problem("engines", m.at("engines") + " lists " + e + " twice");
            }
            engines.add(e);
        }
        if (engines.isEmpty()) {
            throw m.problem("engines", m.at("engines") + " is required: list at least one of clamd, spamd, rspamd");
        }
        return new DomainFilter(engines, m.choice("virus", VirusAction.class).orElse(VirusAction.REJECT),
                m.map("spam").map(SpamPolicy::fromMap));
    }
}
