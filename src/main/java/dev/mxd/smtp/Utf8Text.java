package dev.mxd.smtp;

/** Measures text as it goes on the wire in UTF-8, where a limit counts octets, not characters. */
public final class Utf8Text {

    private Utf8Text() {}

    /** How many leading characters of {@code s} fit in {@code maxOctets} octets of UTF-8, never splitting a surrogate pair. */
    public static int fitting(String s, int maxOctets) {
        int octets = 0;
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (octets + n > maxOctets) {
                break;
            }
            octets += n;
            i += Character.charCount(cp);
        }
        return i;
    }
}
