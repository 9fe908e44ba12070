package dev.mxd.dns.server;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * The line of a zone file on which each record starts, for messages that point an operator at
 * it. dnsjava's {@link Master} knows the line but does not say it outside a parse error, so the
 * file is parsed a second time, only when a message needs a line, through a stream that counts
 * the lines the parser has taken: when a record is returned the parser has read exactly through
 * the end of its last line. The record starts on the first line after the previous record that is
 * not blank, a comment or a directive ({@code $ORIGIN}, {@code $TTL}).
 *
 * <p>Records of a {@code $INCLUDE}d file have no line here (the second parse skips includes).
 * The count relies on dnsjava reading a {@link BufferedInputStream} it is given without buffering
 * it again; {@code ServedZoneTest} pins exact lines, so a dnsjava that changes this fails there.
 */
final class RecordLines {

    private record Located(Record record, int line) {}

    private final Path file;
    private final Optional<Name> origin;
    private List<Located> located;

    RecordLines(Path file, Optional<Name> origin) {
        this.file = file;
        this.origin = origin;
    }

    /** The line {@code r} (same name, type, data and TTL) starts on, or empty when it is not in the file itself. */
    OptionalInt lineOf(Record r) {
        for (Located l : located()) {
            if (l.record().equals(r) && l.record().getTTL() == r.getTTL()) {
                return OptionalInt.of(l.line());
            }
        }
        return OptionalInt.empty();
    }

    private List<Located> located() {
        if (located == null) {
            located = parse();
        }
        return located;
    }

    private List<Located> parse() {
        List<Located> out = new ArrayList<>();
        try {
            List<String> text = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
            try (LineCountingInput in = new LineCountingInput(Files.newInputStream(file));
                 Master master = new Master(in, origin.orElse(null))) {
                master.disableIncludes();
                int consumed = 0; // lines wholly read before this record
                for (Record r = master.nextRecord(); r != null; r = master.nextRecord()) {
                    int last = in.linesStarted();
                    out.add(new Located(r, Math.min(firstRecordLine(text, consumed), last)));
                    consumed = in.linesEnded();
                }
            }
        } catch (IOException | RuntimeException e) {
            // the first parse succeeded, so this one will too; if not, messages go without lines
        }
        return out;
    }

    /** The 1-based number of the first line from index {@code from} on that can hold a record. */
    private static int firstRecordLine(List<String> text, int from) {
        for (int i = from; i < text.size(); i++) {
            String t = text.get(i).strip();
            if (!t.isEmpty() && !t.startsWith(";") && !t.startsWith("$")) {
                return i + 1;
            }
        }
        return text.size();
    }

    /** Counts the line ends the parser has read. */
    private static final class LineCountingInput extends BufferedInputStream {
        private int newlines;
        private int lastByte = '\n';

        LineCountingInput(InputStream in) {
            super(in);
        }

        /** Lines wholly read. */
        int linesEnded() {
            return newlines;
        }

        /** Lines of which at least one byte was read (the last may lack its line end at the end of the file). */
        int linesStarted() {
            return lastByte == '\n' ? newlines : newlines + 1;
        }

        @Override
        public synchronized int read() throws IOException {
            int c = super.read();
            if (c >= 0) {
                count(c);
            }
            return c;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            for (int i = 0; i < n; i++) {
                count(b[off + i] & 0xFF);
            }
            return n;
        }

        private void count(int c) {
            if (c == '\n') {
                newlines++;
            }
            lastByte = c;
        }
    }
}
