package dev.mxd.smtp;

import java.net.IDN;
import java.text.Normalizer;
import java.util.Locale;

/**
 * Domain names to A-labels (RFC 5890), as IDNA2008 and UTS #46 non-transitional processing give
 * them, which is what registries and Postfix use. {@code java.net.IDN} follows IDNA2003, which maps
 * four "deviation" characters away: ß to "ss", ς to σ, and drops the joiners U+200C and U+200D,
 * so {@code faß.de} became {@code fass.de}, another registrant's domain. A label holding one of
 * them is lowered, NFKC-normalised and Punycode-encoded here (RFC 3492) with the character kept;
 * every other label goes through {@code java.net.IDN} as before.
 */
public final class Idna {

    private Idna() {}

    /**
     * The A-label form of {@code domain}, lower case; throws {@link IllegalArgumentException} when a
     * label cannot be converted (as {@code java.net.IDN} does).
     */
    public static String toAscii(String domain) {
        if (asciiOnly(domain)) {
            return asciiDomain(domain); // nearly every domain: no split, no regex (this runs for every recipient)
        }
        String[] labels = domain.split("[.\u3002\uFF0E\uFF61]", -1);
        StringBuilder out = new StringBuilder(domain.length() + 8);
        // A final full stop of UTS #46's four ends the name as its root's empty label: dropped, as callers drop an ASCII one
        // (kept, "example.test\u3002" became "example.test." and missed every table keyed without the dot).
        int count = labels.length > 1 && labels[labels.length - 1].isEmpty() ? labels.length - 1 : labels.length;
        for (int i = 0; i < count; i++) {
            if (labels[i].isEmpty() && labels.length > 1 && i < labels.length - 1) {
                throw new IllegalArgumentException("'" + domain + "' has an empty label"); // only the root's, after a final dot
            }
            if (i > 0) {
                out.append('.');
            }
            out.append(label(labels[i]));
        }
        return out.toString();
    }

    private static boolean asciiOnly(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /** An ASCII domain: lower case, each label at most 63 characters, no empty label but the root's after a final dot. */
    private static String asciiDomain(String domain) {
        int start = 0;
        for (int i = 0; i <= domain.length(); i++) {
            if (i == domain.length() || domain.charAt(i) == '.') {
                int length = i - start;
                if (length > 63) {
                    throw new IllegalArgumentException("the label '" + domain.substring(start, i) + "' is longer than 63 characters");
                }
                if (length == 0 && i < domain.length() && domain.length() > 1) {
                    throw new IllegalArgumentException("'" + domain + "' has an empty label");
                }
                start = i + 1;
            }
        }
        return domain.toLowerCase(Locale.ROOT);
    }

    private static String label(String label) {
        if (label.chars().allMatch(c -> c < 0x80)) {
            if (label.length() > 63) {
                throw new IllegalArgumentException("the label '" + label + "' is longer than 63 characters");
            }
            return label.toLowerCase(Locale.ROOT);
        }
        if (!hasDeviation(label)) {
            // a label that maps to a space or another character no host name has (U+3000, U+00A0) is refused by ldh()
            return ldh(label, IDN.toASCII(label, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT));
        }
        // Lower case letter by letter (no final-sigma context: UTS #46 maps Σ to σ; ς only stays where it was written),
        // capital sharp s as UTS #46 maps it, then NFKC, which leaves the deviation characters as they are.
        StringBuilder lower = new StringBuilder(label.length());
        label.codePoints().forEach(c -> {
            if (c == 0x1E9E) {
                lower.append("ss");
            } else {
                lower.appendCodePoint(Character.toLowerCase(c));
            }
        });
        String mapped = Normalizer.normalize(lower, Normalizer.Form.NFKC);
        if (mapped.chars().allMatch(c -> c < 0x80)) {
            return ldh(label, mapped);
        }
        String ace = "xn--" + punycode(mapped);
        if (ace.length() > 63) {
            throw new IllegalArgumentException("the label '" + label + "' is longer than 63 characters as " + ace);
        }
        return ldh(label, ace);
    }

    /**
     * What a non-ASCII label became, checked: letters, digits and hyphens only, 1 to 63 of them (RFC 5890 §2.3.2.1,
     * RFC 1123's host name rules), and the underscore mxd takes in ASCII labels too (Windows host names). A label that
     * maps to something else (a space, a symbol) has no A-label form.
     */
    private static String ldh(String label, String ascii) {
        boolean ok = !ascii.isEmpty() && ascii.length() <= 63 && ascii.charAt(0) != '-' && ascii.charAt(ascii.length() - 1) != '-';
        for (int i = 0; ok && i < ascii.length(); i++) {
            char c = ascii.charAt(i);
            ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_';
        }
        if (!ok) {
            throw new IllegalArgumentException("the label '" + label + "' has no IDNA A-label form (it maps to '" + ascii + "')");
        }
        return ascii;
    }

    private static boolean hasDeviation(String label) {
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (c == '\u00DF' || c == '\u03C2' || c == '\u200C' || c == '\u200D' || c == '\u1E9E') {
                return true;
            }
        }
        return false;
    }

    // RFC 3492 §5: the Punycode parameters.
    private static final int BASE = 36;
    private static final int TMIN = 1;
    private static final int TMAX = 26;
    private static final int SKEW = 38;
    private static final int DAMP = 700;
    private static final int INITIAL_BIAS = 72;
    private static final int INITIAL_N = 0x80;

    /** RFC 3492 §6.3: the basic code points as they are, a '-', then the others as generalized variable-length integers. */
    static String punycode(String text) {
        int[] cps = text.codePoints().toArray();
        StringBuilder out = new StringBuilder();
        for (int c : cps) {
            if (c < 0x80) {
                out.append((char) c);
            }
        }
        int basic = out.length();
        int handled = basic;
        if (basic > 0) {
            out.append('-');
        }
        int n = INITIAL_N;
        int bias = INITIAL_BIAS;
        long delta = 0;
        while (handled < cps.length) {
            int next = Integer.MAX_VALUE;
            for (int c : cps) {
                if (c >= n && c < next) {
                    next = c;
                }
            }
            delta += (long) (next - n) * (handled + 1);
            n = next;
            for (int c : cps) {
                if (c < n) {
                    delta++;
                }
                if (c == n) {
                    long q = delta;
                    for (int k = BASE; ; k += BASE) {
                        int t = k <= bias ? TMIN : Math.min(k - bias, TMAX);
                        if (q < t) {
                            break;
                        }
                        out.append(digit(t + (int) ((q - t) % (BASE - t))));
                        q = (q - t) / (BASE - t);
                    }
                    out.append(digit((int) q));
                    bias = adapt(delta, handled + 1, handled == basic);
                    delta = 0;
                    handled++;
                }
            }
            if (delta > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("'" + text + "' cannot be encoded in Punycode (overflow)");
            }
            delta++;
            n++;
        }
        return out.toString();
    }

    /** RFC 3492 §6.1. */
    private static int adapt(long delta, int points, boolean first) {
        delta = first ? delta / DAMP : delta / 2;
        delta += delta / points;
        int k = 0;
        while (delta > ((BASE - TMIN) * TMAX) / 2) {
            delta /= BASE - TMIN;
            k += BASE;
        }
        return (int) (k + (BASE - TMIN + 1) * delta / (delta + SKEW));
    }

    private static char digit(int d) {
        return (char) (d < 26 ? 'a' + d : '0' + d - 26);
    }
}
