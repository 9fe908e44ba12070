package dev.mxd.smtp;

/** The xtext encoding of DSN parameters (RFC 3461 §4): "+" and two upper-case hex digits for special octets. */
public final class Xtext {

    private Xtext() {}

    public static String decode(String text) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '+') {
                String hex = text.substring(i + 1, Math.min(i + 3, text.length()));
                if (!hex.matches("[0-9A-F]{2}")) {
                    throw new IllegalArgumentException("xtext '" + text + "': '+' must be followed by two upper-case hex digits");
                }
                b.append((char) Integer.parseInt(hex, 16));
                i += 2;
            } else if (c < 33 || c > 126 || c == '=') {
                throw new IllegalArgumentException("xtext '" + text + "' contains a character that must be encoded");
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** Encodes a value as xtext; non-ASCII goes as its UTF-8 octets, each "+" and two hex digits. */
    public static String encode(String value) {
        return encode(value, false);
    }

    /**
     * Encodes a value as xtext: printable ASCII other than "+" and "=" as is, every other octet
     * (space, CR, LF, controls) as "+" and two upper-case hex digits, so a value can never end a
     * parameter or start a field of its own. With {@code keepUtf8}, non-ASCII characters stay as
     * they are (RFC 6533 §3: a message/global-delivery-status part is UTF-8).
     */
    public static String encode(String value, boolean keepUtf8) {
        StringBuilder sb = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); ) {
            int cp = value.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0x80 && keepUtf8) {
                sb.appendCodePoint(cp);
            } else if (cp > ' ' && cp < 0x7f && cp != '+' && cp != '=') {
                sb.append((char) cp);
            } else {
                for (byte b : new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    sb.append('+').append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
                }
            }
        }
        return sb.toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
}
