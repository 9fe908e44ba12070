package dev.mxd.smtp.client;

import java.nio.charset.StandardCharsets;

/**
 * RFC 3461 §4 xtext, the encoding of ENVID and ORCPT values: printable ASCII except "+" and "="
 * as is, every other byte as "+" and two upper-case hex digits. Non-ASCII goes as its UTF-8 bytes.
 */
final class Xtext {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private Xtext() {}

    static String encode(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 8);
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= '!' && c <= '~' && c != '+' && c != '=') {
                sb.append((char) c);
            } else {
                sb.append('+').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return sb.toString();
    }
}
