package dev.mxd.tls;

import java.util.HexFormat;
import java.util.Locale;

/**
 * One TLSA record's content (RFC 6698 §2.1) as DANE for SMTP reads it: certificate usage, selector,
 * matching type and the association data.
 */
public record Tlsa(int usage, int selector, int matching, byte[] data) {

    /** DANE-TA(2): the data names a trust anchor in the server's chain (RFC 7672 §3.1.2). */
    public static final int DANE_TA = 2;
    /** DANE-EE(3): the data names the server's own certificate or key (RFC 7672 §3.1.1). */
    public static final int DANE_EE = 3;

    public Tlsa {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /**
     * Whether an SMTP client may use this record (RFC 7672 §3.1: PKIX-TA(0) and PKIX-EE(1) are not, nor are
     * unknown selectors and matching types, nor a digest of the wrong length).
     */
    public boolean usable() {
        if (usage != DANE_TA && usage != DANE_EE) {
            return false;
        }
        if (selector != 0 && selector != 1) {
            return false;
        }
        return switch (matching) {
            case 0 -> data.length > 0;
            case 1 -> data.length == 32;
            case 2 -> data.length == 64;
            default -> false;
        };
    }

    /** "DANE-EE(3) SPKI SHA2-256": how the record matches, for logs and the delivery timeline. */
    public String describe() {
        String u = switch (usage) {
            case 0 -> "PKIX-TA(0)";
            case 1 -> "PKIX-EE(1)";
            case DANE_TA -> "DANE-TA(2)";
            case DANE_EE -> "DANE-EE(3)";
            default -> "usage(" + usage + ")";
        };
        String s = selector == 0 ? "Cert" : selector == 1 ? "SPKI" : "selector(" + selector + ")";
        String m = switch (matching) {
            case 0 -> "Full";
            case 1 -> "SHA2-256";
            case 2 -> "SHA2-512";
            default -> "matching(" + matching + ")";
        };
        return u + " " + s + " " + m;
    }

    /** The record's presentation form ("3 1 1 ab12..."), as RFC 8460 reports list it. */
    public String text() {
        return usage + " " + selector + " " + matching + " " + HexFormat.of().formatHex(data).toUpperCase(Locale.ROOT);
    }
}
