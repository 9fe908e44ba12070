package dev.mxd.smtp;

/**
 * Text from outside, made fit for one log line: a client's HELO name, an address, a command, a
 * peer's reply, an exception message that may quote them. Control characters (C0, DEL, C1), line
 * and paragraph separators and invisible format characters (bidirectional overrides among them)
 * are written as {@code \xNN} or {@code \x{NNNN}}, so that no client can end a log line, forge the
 * next one, or drive the terminal of whoever reads the log. Letters of any script stay readable.
 * A backslash is left as it is: the escaped form is only ever read by people.
 */
public final class LogText {

    /** Characters kept from one piece of text; the rest is counted, not written. */
    public static final int MAX_LENGTH = 512;

    private LogText() {}

    /** {@code text} escaped and cut at {@link #MAX_LENGTH} characters; {@code null} (an exception without a message) as "null". */
    public static String safe(String text) {
        if (text == null) {
            return "null";
        }
        if (text.length() <= MAX_LENGTH && text.codePoints().noneMatch(LogText::escaped)) {
            return text; // the usual case: nothing to do
        }
        StringBuilder b = new StringBuilder(Math.min(text.length(), MAX_LENGTH) + 16);
        int end = text.offsetByCodePoints(0, Math.min(text.codePointCount(0, text.length()), MAX_LENGTH));
        text.substring(0, end).codePoints().forEach(cp -> {
            if (!escaped(cp)) {
                b.appendCodePoint(cp);
            } else if (cp < 0x100) {
                b.append(String.format("\\x%02X", cp));
            } else {
                b.append(String.format("\\x{%04X}", cp));
            }
        });
        if (end < text.length()) {
            b.append("…(").append(text.length() - end).append(" more characters)");
        }
        return b.toString();
    }

    /** {@link #safe(String)} of {@code String.valueOf(value)}, for addresses, exceptions and the like. */
    public static String safe(Object value) {
        return safe(String.valueOf(value));
    }

    private static boolean escaped(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SURROGATE -> true;
            default -> false;
        };
    }
}
