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

    public static String encode(String text) {
        StringBuilder b = new StringBuilder();
        for (char c : text.toCharArray()) {
            if (c < 33 || c > 126 || c == '+' || c == '=') {
                b.append('+').append(String.format("%02X", (int) c & 0xff));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
