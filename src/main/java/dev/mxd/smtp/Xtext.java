package dev.mxd.smtp;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The xtext encoding of DSN parameters (RFC 3461 §4): "+" and two hex digits for special octets (upper case when mxd writes them). */
public final class Xtext {

    private Xtext() {}

    /**
     * Decodes xtext: "+" and two hex digits is an octet (upper case as RFC 3461 writes it, lower
     * case taken too, as Postfix does); the octets are read as UTF-8 when they are valid UTF-8 (an
     * address "j+C3+BCrgen" is "jürgen", and goes on as the same octets), else one character each.
     */
    public static String decode(String text) {
        return decode(text, false);
    }

    /**
     * As {@link #decode}, for an ORCPT address: its octets are US-ASCII (RFC 3461 §4.2), or UTF-8 as Postfix sends
     * the original recipient of SMTPUTF8 mail ({@code rfc822;j+C3+BCrgen@...}); other 8-bit octets (a Latin-1
     * {@code +FC}) are refused, since no later notice could name that address.
     */
    public static String decodeAddress(String text) {
        return decode(text, true);
    }

    private static String decode(String text, boolean utf8Only) {
        byte[] octets = new byte[text.length()];
        int n = 0;
        boolean eightBit = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '+') {
                String hex = text.substring(i + 1, Math.min(i + 3, text.length()));
                if (!hex.matches("[0-9A-Fa-f]{2}")) {
                    throw new IllegalArgumentException("xtext '" + text + "': '+' must be followed by two hex digits");
                }
                octets[n] = (byte) Integer.parseInt(hex, 16);
                eightBit |= octets[n] < 0;
                n++;
                i += 2;
            } else if (c < 33 || c > 126 || c == '=') {
                throw new IllegalArgumentException("xtext '" + text + "' contains a character that must be encoded");
            } else {
                octets[n++] = (byte) c;
            }
        }
        if (eightBit) {
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(octets, 0, n)).toString();
            } catch (CharacterCodingException notUtf8) {
                if (utf8Only) {
                    throw new IllegalArgumentException("xtext '" + text + "' decodes to 8-bit octets that are not UTF-8");
                }
                // one character an octet, as before
            }
        }
        return new String(octets, 0, n, StandardCharsets.ISO_8859_1);
    }

    /**
     * Decodes the address of an RFC 6533 §3 {@code utf-8} ORCPT: utf-8-addr-xtext or
     * utf-8-addr-unitext, printable ASCII as it is, UTF-8 as it is, and "\x{HEX}" for any code
     * point (how '+', '=', '\\', a space or a non-ASCII character is written in the ASCII form).
     * A bare '+' or '=' is refused: RFC 6533's form has no "+HEX".
     */
    public static String decodeUtf8Address(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            char c = text.charAt(i);
            if (c == '\\') {
                int close = text.indexOf('}', i);
                String hex = close < 0 || !text.startsWith("\\x{", i) ? "" : text.substring(i + 3, close);
                if (!hex.matches("[0-9A-Fa-f]{1,6}") || Integer.parseInt(hex, 16) > Character.MAX_CODE_POINT
                        || Character.getType(Integer.parseInt(hex, 16)) == Character.SURROGATE) {
                    throw new IllegalArgumentException("'" + text + "': '\\' must start a \\x{HEX} code point (RFC 6533 §3)");
                }
                b.appendCodePoint(Integer.parseInt(hex, 16));
                i = close + 1;
            } else if (c <= ' ' || c == 0x7f || c == '=' || c == '+') {
                throw new IllegalArgumentException("'" + text + "' contains a character that must be written \\x{HEX} (RFC 6533 §3)");
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    /**
     * An address of RFC 6533 §3's utf-8 type: with {@code unitext} (an SMTPUTF8 context, a
     * message/global-delivery-status field) as utf-8-addr-unitext, UTF-8 as it is; otherwise as
     * utf-8-addr-xtext, all ASCII, every non-ASCII character as \x{HEX}. Either way '+', '=',
     * '\\', spaces, controls and invisible format characters (bidirectional overrides, line
     * separators) are written \x{HEX}.
     */
    public static String encodeUtf8Address(String address, boolean unitext) {
        StringBuilder sb = new StringBuilder(address.length() + 8);
        address.codePoints().forEach(cp -> {
            if (cp > ' ' && cp != 0x7f && cp != '+' && cp != '=' && cp != '\\' && (cp < 0x80 || unitext && cp >= 0xa0
                    && !Character.isISOControl(cp) && Character.getType(cp) != Character.FORMAT
                    && cp != 0x2028 && cp != 0x2029)) {
                sb.appendCodePoint(cp);
            } else {
                sb.append("\\x{").append(Integer.toHexString(cp).toUpperCase(java.util.Locale.ROOT)).append('}');
            }
        });
        return sb.toString();
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
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    sb.append('+').append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
                }
            }
        }
        return sb.toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
}
