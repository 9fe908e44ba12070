package dev.mxd.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A domain's MTA-STS policy as its policy host serves it (RFC 8461 §3.2): the mode, the MX host
 * patterns the domain's mail may go to, and how long a sender keeps the policy.
 *
 * @param mode   what a sender does with the policy
 * @param mx     the {@code mx} patterns, in the order given, lower case: a name, or {@code *.} and a name
 *               (standing for exactly one more label on the left)
 * @param maxAge seconds the policy may be cached, at most {@link #MAX_AGE_LIMIT}
 * @param text   the policy body as served, for the cache and for TLS reports
 */
public record StsPolicy(Mode mode, List<String> mx, long maxAge, String text) {

    /** RFC 8461 §3.2: the largest {@code max_age}, about a year. */
    public static final long MAX_AGE_LIMIT = 31_557_600L;

    public StsPolicy {
        mx = List.copyOf(mx);
    }

    /** The {@code mode} field. */
    public enum Mode {
        /** Deliver only to matching MX hosts, over TLS with a certificate valid for their names. */
        ENFORCE,
        /** Check and report, deliver anyway. */
        TESTING,
        /** The domain withdrew its policy: deliver as without one. */
        NONE;

        /** The word the policy uses. */
        public String text() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A policy body that does not follow RFC 8461 §3.2; the message says what and on which line. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    /**
     * Reads a policy body: {@code key: value} lines ending in CRLF or LF; {@code version} (STSv1),
     * {@code mode} and {@code max_age} exactly once, {@code mx} at least once unless the mode is
     * {@code none}; unknown keys are ignored (§3.2).
     */
    public static StsPolicy parse(String text) throws Invalid {
        String version = null;
        Mode mode = null;
        Long maxAge = null;
        List<String> mx = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int n = i + 1;
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new Invalid("line " + n + ": '" + shorten(line) + "' is not 'key: value'");
            }
            String key = line.substring(0, colon);
            if (!key.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")) { // sts-policy-ext-name has '.' too
                throw new Invalid("line " + n + ": '" + shorten(key) + "' is not a field name");
            }
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "version" -> {
                    if (version != null) {
                        continue; // §3.2: of a repeated field other than mx, only the first counts
                    }
                    if (!value.equals("STSv1")) {
                        throw new Invalid("line " + n + ": version '" + shorten(value) + "' is not STSv1");
                    }
                    version = value;
                }
                case "mode" -> {
                    if (mode != null) {
                        continue;
                    }
                    mode = switch (value) {
                        case "enforce" -> Mode.ENFORCE;
                        case "testing" -> Mode.TESTING;
                        case "none" -> Mode.NONE;
                        default -> throw new Invalid("line " + n + ": mode '" + shorten(value) + "' is not enforce, testing or none");
                    };
                }
                case "max_age" -> {
                    if (maxAge != null) {
                        continue;
                    }
                    if (!value.matches("[0-9]{1,10}")) {
                        throw new Invalid("line " + n + ": max_age '" + shorten(value) + "' is not a number of seconds");
                    }
                    // §3.2 names 31557600 the largest value: a larger one is taken as that, not as no policy at all
                    maxAge = Math.min(Long.parseLong(value), MAX_AGE_LIMIT);
                }
                case "mx" -> {
                    String pattern = value.toLowerCase(Locale.ROOT);
                    if (pattern.endsWith(".")) {
                        pattern = pattern.substring(0, pattern.length() - 1);
                    }
                    String name = pattern.startsWith("*.") ? pattern.substring(2) : pattern;
                    if (!name.matches("[a-z0-9_-]+(\\.[a-z0-9_-]+)*")) {
                        throw new Invalid("line " + n + ": mx '" + shorten(value) + "' is not a host name or *.name");
                    }
                    mx.add(pattern);
                }
                default -> {
                    // §3.2: unknown fields are ignored
                }
            }
        }
        if (version == null) {
            throw new Invalid("no 'version: STSv1' line");
        }
        if (mode == null) {
            throw new Invalid("no 'mode' line");
        }
        if (maxAge == null) {
            throw new Invalid("no 'max_age' line");
        }
        if (mx.isEmpty() && mode != Mode.NONE) {
            throw new Invalid("no 'mx' line in mode " + mode.text());
        }
        return new StsPolicy(mode, mx, maxAge, text);
    }

    /** Whether MX host {@code host} matches one of the {@code mx} patterns (§4.1: a wildcard stands for one label). */
    public boolean matches(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (String pattern : mx) {
            if (pattern.startsWith("*.")) {
                int dot = h.indexOf('.');
                if (dot > 0 && h.substring(dot + 1).equals(pattern.substring(2))) {
                    return true;
                }
            } else if (h.equals(pattern)) {
                return true;
            }
        }
        return false;
    }

    /** The policy as an RFC 8460 report names it ("sts", its lines, its mx patterns). */
    public HostTls.ReportedPolicy reported() {
        List<String> strings = text.lines().filter(l -> !l.isBlank()).map(String::strip).toList();
        return new HostTls.ReportedPolicy("sts", strings, mx);
    }

    private static String shorten(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }
}
