package dev.mxd.config;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code filters:} section of mxd's configuration (issue 7): where each engine listens, one
 * timeout for every engine exchange, and what to do when an engine gives no answer.
 * <pre>
 * filters:
 *   clamd: {address: "127.0.0.1:3310", stream-max-length: 25M}   # or "unix:/run/clamav/clamd.ctl"
 *   spamd: {address: "127.0.0.1:783", user: mxd, max-size: 500K}
 *   rspamd: {url: "http://127.0.0.1:11333", max-size: 50M}
 *   timeout: 30s
 *   on-error: tempfail          # tempfail | accept
 *   on-too-large: accept        # accept | reject  (a message over clamd's stream-max-length)
 * </pre>
 */
public record FiltersConfig(Optional<Clamd> clamd, Optional<Spamd> spamd, Optional<Rspamd> rspamd, Duration timeout,
                            OnError onError, OnTooLarge onTooLarge) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    /** clamd's listener and the largest message mxd sends it (keep it at or under clamd's StreamMaxLength). */
    public record Clamd(EngineAddress address, long streamMaxLength) {
        /** clamd's own StreamMaxLength default before ClamAV 0.104 and a common setting since. */
        public static final long DEFAULT_STREAM_MAX_LENGTH = 25L * 1024 * 1024;
    }

    /**
     * spamd's listener, the SpamAssassin user whose preferences apply, and the largest message it is
     * sent: a larger one is accepted unscanned by spamd (marked skipped), as spamc passes it on.
     */
    public record Spamd(EngineAddress address, String user, long maxSize) {
        /** The user whose SpamAssassin preferences spamd applies (spamc sends the caller's name). */
        public static final String DEFAULT_USER = "mxd";
        /** spamc's own default for -s: 500 KB. Spam is small; a large message only costs spamd time. */
        public static final long DEFAULT_MAX_SIZE = 500L * 1024;

        public Spamd(EngineAddress address, String user) {
            this(address, user, DEFAULT_MAX_SIZE);
        }
    }

    /** Rspamd's normal worker, for example http://127.0.0.1:11333, and the largest message it is sent (as for spamd). */
    public record Rspamd(URI url, long maxSize) {
        /** Rspamd's own max_message default: 50 MB. */
        public static final long DEFAULT_MAX_SIZE = 50L * 1024 * 1024;

        public Rspamd(URI url) {
            this(url, DEFAULT_MAX_SIZE);
        }
    }

    /** An engine that is down, times out or answers nonsense. */
    public enum OnError {
        /** 451 4.7.1: nothing is lost, the client retries (the default). */
        TEMPFAIL,
        /** Accept unscanned, marked with X-Mxd-Scan: skipped. */
        ACCEPT
    }

    /** A message larger than clamd takes: refusing it at every retry would be pointless, so no tempfail. */
    public enum OnTooLarge {
        /** Accept it unscanned, marked with X-Mxd-Scan: skipped (the default). */
        ACCEPT,
        /** 552 5.3.4: too big to scan. */
        REJECT
    }

    public FiltersConfig {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("filters.timeout must be longer than zero, not " + timeout);
        }
        // The engines are asked in turn while the client waits for the reply to its final dot, 10 minutes at most (RFC
        // 5321 §4.5.3.2.6): three engines at 3 minutes each stay under it. Longer, a client gave up first and sent the
        // message again, which was then accepted twice.
        Durations.requireAtMost("filters.timeout", timeout, MAX_TIMEOUT, "up to three engines are asked in turn while the client"
                + " waits at most 10m for the reply to its message (RFC 5321 §4.5.3.2.6)");
    }

    /** The longest filters.timeout: three engines in turn within the 10 minutes a client waits after its final dot. */
    static final Duration MAX_TIMEOUT = Duration.ofMinutes(3);

    /** No engines: every domain without a filter section is accepted unscanned. */
    public static FiltersConfig none() {
        return new FiltersConfig(Optional.empty(), Optional.empty(), Optional.empty(), DEFAULT_TIMEOUT, OnError.TEMPFAIL, OnTooLarge.ACCEPT);
    }

    /**
     * The value of the {@code filters:} key as the YAML loader gives it; the loader calls this in its
     * pass over the file. A mistake is a {@link ConfigProblem} whose message names the key path
     * and whose key path is relative to {@code filters}.
     */
    public static FiltersConfig fromMap(Map<?, ?> filters) {
        return read(new Section("filters", filters));
    }

    private static FiltersConfig read(Section m) {
        m.onlyKeys("clamd", "spamd", "rspamd", "timeout", "on-error", "on-too-large");
        Optional<Clamd> clamd = m.map("clamd").map(c -> {
            c.onlyKeys("address", "stream-max-length");
            return new Clamd(address(c, "127.0.0.1:3310"), c.size("stream-max-length").orElse(Clamd.DEFAULT_STREAM_MAX_LENGTH));
        });
        Optional<Spamd> spamd = m.map("spamd").map(c -> {
            c.onlyKeys("address", "user", "max-size");
            String user = c.string("user").orElse(Spamd.DEFAULT_USER);
            if (user.isBlank() || user.chars().anyMatch(ch -> ch < 0x21 || ch > 0x7e)) {
                throw c.problem("user", c.at("user") + ": '" + user + "' must be a name without spaces");
            }
            return new Spamd(address(c, "127.0.0.1:783"), user, c.size("max-size").orElse(Spamd.DEFAULT_MAX_SIZE));
        });
        Optional<Rspamd> rspamd = m.map("rspamd").map(c -> {
            c.onlyKeys("url", "max-size");
            String url = c.required("url", "http://127.0.0.1:11333");
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException e) {
                throw c.problem("url", c.at("url") + ": '" + url + "' is not a URL: " + e.getMessage(), e);
            }
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw c.problem("url", c.at("url") + ": '" + url + "' must be an http:// URL with a host, like http://127.0.0.1:11333");
            }
            return new Rspamd(uri, c.size("max-size").orElse(Rspamd.DEFAULT_MAX_SIZE));
        });
        return new FiltersConfig(clamd, spamd, rspamd, m.duration("timeout").orElse(DEFAULT_TIMEOUT),
                m.choice("on-error", OnError.class).orElse(OnError.TEMPFAIL),
                m.choice("on-too-large", OnTooLarge.class).orElse(OnTooLarge.ACCEPT));
    }

    private static EngineAddress address(Section c, String example) {
        String text = c.required("address", example);
        try {
            return EngineAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw c.problem("address", c.at("address") + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code engine} has its section here. */
    public boolean configures(Engine engine) {
        return switch (engine) {
            case CLAMD -> clamd.isPresent();
            case SPAMD -> spamd.isPresent();
            case RSPAMD -> rspamd.isPresent();
        };
    }

    /**
     * Checks that every engine a domain's filter names is configured here; the message names the
     * domain and the key to add. Call it for each domain when loading the configuration.
     */
    public void check(String domain, DomainFilter filter) {
        for (Engine e : filter.engines()) {
            if (!configures(e)) {
                throw new IllegalArgumentException("domains." + domain + ".filter.engines lists " + e + ", but filters." + e
                        + " is not configured: add filters." + e + (e == Engine.RSPAMD ? ".url" : ".address") + " or remove it from the list");
            }
        }
        if (filter.spam().map(SpamPolicy::rspamdAction).orElse(false) && !filter.engines().contains(Engine.RSPAMD)) {
            throw new IllegalArgumentException("domains." + domain + ".filter.spam.rspamd-action is true, but rspamd is not in"
                    + " domains." + domain + ".filter.engines: add it there");
        }
    }
}
