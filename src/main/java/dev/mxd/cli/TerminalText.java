package dev.mxd.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * What commands print to an operator's terminal: text that came from elsewhere (a remote server's
 * reply, a greeting, a subject line) may hold control characters, and an escape sequence among them
 * would be run by the terminal (its title or clipboard set, lines hidden, answers typed back). Every
 * control character but newline and tab, and every bidirectional control, is written as {@code \\uXXXX}, which reads the same in a
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
                if (escaped(c)) {
                    out.write(String.format("\\u%04X", c));
                } else {
                    out.write(c);
                }
            }

            @Override
            public void write(char[] buf, int off, int len) throws IOException {
                int start = off;
                for (int i = off; i < off + len; i++) {
                    if (escaped(buf[i])) {
                        out.write(buf, start, i - start);
                        write(buf[i]);
                        start = i + 1;
                    }
                }
                out.write(buf, start, off + len - start);
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
     * Trojan Source attacks, CVE-2021-42574; zero-width spaces), line and paragraph separators. Surrogates pass: this
     * sees one UTF-16 unit at a time, and a character outside the BMP (an emoji in a subject) is two of them.
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
