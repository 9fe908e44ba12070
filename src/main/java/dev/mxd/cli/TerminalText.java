package dev.mxd.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * What commands print to an operator's terminal: text that came from elsewhere (a remote server's
 * reply, a greeting, a subject line) may hold control characters, and an escape sequence among them
 * would be run by the terminal (its title or clipboard set, lines hidden, answers typed back). Every
 * control character but newline and tab, and every invisible format character (bidirectional controls, zero-width
 * and tag characters), is written as {@code \\uXXXX}, which reads the same in a
 * table and is a valid escape inside a JSON string, so the {@code --json} output stays JSON.
 */
final class TerminalText {

    private TerminalText() {
    }

    /** {@code out}, with control characters written as escapes. */
    static PrintWriter guard(PrintWriter out) {
        return new PrintWriter(new FilterWriter(out) { // flushed at every line, as picocli's own writer
            @Override
            public void write(int c) throws IOException {
                write(new char[] {(char) c}, 0, 1);
            }

            @Override
            public void write(char[] buf, int off, int len) throws IOException {
                int start = off;
                int end = off + len;
                for (int i = off; i < end; ) {
                    // by code point: a format character outside the BMP (the tag characters U+E0000-E007F, invisible) is
                    // two UTF-16 units, and a lone surrogate is no character
                    char c = buf[i];
                    boolean pair = Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(buf[i + 1]);
                    int units = pair ? 2 : 1;
                    int cp = pair ? Character.toCodePoint(c, buf[i + 1]) : c;
                    if (escaped(cp) || (!pair && Character.isSurrogate(c))) {
                        out.write(buf, start, i - start);
                        for (int k = i; k < i + units; k++) {
                            out.write(String.format("\\u%04X", (int) buf[k]));
                        }
                        start = i + units;
                    }
                    i += units;
                }
                out.write(buf, start, end - start);
            }

            @Override
            public void write(String s, int off, int len) throws IOException {
                write(s.toCharArray(), off, len);
            }
        }, true);
    }

    /**
     * Control characters but newline and tab, and the invisible ones the log escapes too: format characters (the
     * bidirectional controls among them: U+202E shows the rest of a line reversed, "gnp.exe" for "exe.png", as in the
     * Trojan Source attacks, CVE-2021-42574; zero-width spaces; tag characters), line and paragraph separators, and
     * (above) lone surrogates. Each UTF-16 unit of an escaped character is written as {@code \\uXXXX}.
     */
    private static boolean escaped(int c) {
        if (c == '\n' || c == '\t') {
            return false;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> true;
            default -> false;
        };
    }
}
