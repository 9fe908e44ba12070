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

    private static boolean escaped(int c) {
        return (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7F && c <= 0x9F) || bidi(c);
    }

    /**
     * The Unicode bidirectional controls (Unicode Standard Annex #9): a sender's address or subject holding
     * U+202E shows the rest reversed ("gnp.exe" for "exe.png"), as in the Trojan Source attacks (CVE-2021-42574).
     */
    private static boolean bidi(int c) {
        return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
    }
}
