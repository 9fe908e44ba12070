package dev.mxd.smtp.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A message received with BODY=8BITMIME made 7-bit for a server that does not offer 8BITMIME:
 * RFC 6152 §3 leaves the client two choices, convert or do not send, and this is the conversion
 * (Postfix does the same unless {@code disable_mime_output_conversion} is set).
 *
 * <p>The MIME structure is followed (RFC 2045, 2046): a multipart's parts one by one, the message
 * inside a message/rfc822 part. A leaf part labelled 8bit or binary, or labelled 7bit (or not
 * labelled) while its text has 8-bit octets, is re-encoded as quoted-printable (RFC 2045 §6.7) and
 * its Content-Transfer-Encoding field says so; a multipart or message/rfc822 labelled 8bit or
 * binary is relabelled 7bit, as its parts now are (RFC 2046 §5.1, §5.2.1 allow it no other
 * encoding). Parts already in quoted-printable or base64, and encodings this class does not know,
 * pass as they are. Header fields are not changed apart from that label (and a MIME-Version field
 * added to a top-level message that had none and is now encoded): an 8-bit octet in a header
 * field has no encoding that keeps its meaning, and goes as it is, as Postfix sends it.
 *
 * <p>Three reads of the spooled text, none holding more than a part's header section: one finds
 * which unlabelled parts have 8-bit octets, one counts the converted size (what SIZE= declares,
 * RFC 1870), and the last streams the converted text into DATA. Nesting is followed to
 * {@link #MAX_DEPTH} levels, and a part's header section is read up to {@link #MAX_HEADER} octets;
 * past either, the rest is passed as it is.
 */
public final class MimeDowngrade {

    /** Entity nesting followed; a part deeper than this is taken as a leaf. */
    static final int MAX_DEPTH = 50;
    /** Header octets of one entity kept to read its Content-Type; past this, the entity passes as it is. */
    static final int MAX_HEADER = 256 * 1024;
    /** The longest piece of a line handled at once; longer lines come in pieces. */
    private static final int PIECE = 8 * 1024;
    /** Quoted-printable lines are at most 76 characters with the soft break's "=" (RFC 2045 §6.7 rule 5). */
    private static final int QP_LINE = 75;
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] SOFT_BREAK = {'=', '\r', '\n'};

    private MimeDowngrade() {
    }

    /**
     * The content in 7-bit form, or empty when there is nothing to convert: no part labelled 8bit
     * or binary and no 8-bit octet in a part's text (8-bit octets in header fields do not count,
     * see above).
     */
    public static Optional<MessageContent> of(MessageContent source) throws IOException {
        BitSet eightBit = new BitSet();
        boolean relabelled;
        try (Converting scan = new Converting(source.open(), eightBit, true)) {
            scan.transferTo(OutputStream.nullOutputStream());
            relabelled = scan.converter.changed;
        }
        if (!relabelled && eightBit.isEmpty()) {
            return Optional.empty();
        }
        long size;
        try (Converting count = new Converting(source.open(), eightBit, false)) {
            size = count.transferTo(OutputStream.nullOutputStream());
        }
        return Optional.of(new MessageContent() {
            @Override
            public InputStream open() throws IOException {
                return new Converting(source.open(), eightBit, false);
            }

            @Override
            public long size() {
                return size;
            }
        });
    }

    /** The converted text of one read of the source, made as it is read. */
    private static final class Converting extends InputStream {
        private final InputStream source;
        final Converter converter;
        private final byte[] block = new byte[PIECE];
        private int blockPos;
        private int blockLimit;
        private final byte[] piece = new byte[PIECE];
        private int pieceLength;
        private boolean pieceStartsLine = true;
        private boolean ended;
        private int drained; // octets of converter.out already read

        /**
         * @param eightBit the unlabelled leaves (by their order in the text) with 8-bit octets; filled
         *                 in when {@code scanning}, read otherwise
         */
        Converting(InputStream source, BitSet eightBit, boolean scanning) {
            this.source = source;
            this.converter = new Converter(eightBit, scanning);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (drained == converter.out.length && !ended) {
                converter.out.clear();
                drained = 0;
                fill();
            }
            int available = converter.out.length - drained;
            if (available == 0) {
                return -1;
            }
            int n = Math.min(len, available);
            System.arraycopy(converter.out.bytes, drained, b, off, n);
            drained += n;
            return n;
        }

        /** Reads up to the end of the next line, or a piece of it, and converts that. */
        private void fill() throws IOException {
            while (true) {
                if (blockPos == blockLimit) {
                    blockLimit = source.read(block);
                    blockPos = 0;
                    if (blockLimit < 0) {
                        blockLimit = 0;
                        break;
                    }
                }
                int c = block[blockPos++];
                piece[pieceLength++] = (byte) c;
                if (c == '\n' || pieceLength == PIECE) {
                    boolean ends = c == '\n';
                    converter.piece(piece, pieceLength, pieceStartsLine, ends);
                    pieceStartsLine = ends;
                    pieceLength = 0;
                    return;
                }
            }
            if (pieceLength > 0) {
                converter.piece(piece, pieceLength, pieceStartsLine, false);
                pieceLength = 0;
            }
            converter.finish();
            ended = true;
        }

        @Override
        public void close() throws IOException {
            source.close();
        }
    }

    /** A growable output buffer, emptied by each read. */
    private static final class Buffer {
        byte[] bytes = new byte[PIECE * 4];
        int length;

        void write(int b) {
            ensure(1);
            bytes[length++] = (byte) b;
        }

        void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, bytes, length, len);
            length += len;
        }

        void write(byte[] b) {
            write(b, 0, b.length);
        }

        void clear() {
            length = 0;
        }

        private void ensure(int more) {
            if (length + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }
    }

    /** One open multipart: the parts after its boundary lines are its own. */
    private record Frame(byte[] boundary, boolean digest, int depth) {
    }

    private enum Mode { HEADER, PASS, QUOTED_PRINTABLE }

    /** The conversion, line piece by line piece. */
    private static final class Converter {
        final Buffer out = new Buffer();
        private final BitSet eightBit;
        private final boolean scanning;
        boolean changed; // a label was rewritten or a part encoded

        private final Deque<Frame> frames = new ArrayDeque<>();
        private Mode mode = Mode.HEADER;
        private int depth;                     // of the current entity; the message itself is 0
        private boolean digestPart;            // the current entity's default type is message/rfc822
        private final List<byte[]> header = new ArrayList<>(); // the current entity's header lines, or pieces of them
        private int headerSize;
        private int leaves;                    // leaf entities seen so far
        private int watched = -1;              // the unlabelled leaf being scanned for 8-bit octets, or -1

        // Quoted-printable state of the current line.
        private int column;
        private int pendingSpace = -1;         // a space or tab that is trailing if the line ends next
        private boolean pendingCr;
        private boolean binary;                // a part that is not text: its line breaks are data (=0D=0A)
        private int pendingBreak;              // binary: a line break held back, 2 for CRLF, 1 for LF, 0 none
        private boolean boundaryLineGoesOn;    // a boundary line longer than a piece: its rest passes

        Converter(BitSet eightBit, boolean scanning) {
            this.eightBit = eightBit;
            this.scanning = scanning;
        }

        void piece(byte[] b, int len, boolean startsLine, boolean endsLine) {
            if (boundaryLineGoesOn) {            // the rest of a long boundary line
                out.write(b, 0, len);
                boundaryLineGoesOn = !endsLine;
                return;
            }
            if (startsLine && !frames.isEmpty() && boundary(b, len)) {
                boundaryLineGoesOn = !endsLine;
                return;
            }
            switch (mode) {
                case HEADER -> headerPiece(b, len, startsLine, endsLine);
                case PASS -> {
                    if (watched >= 0 && !eightBit.get(watched)) {
                        for (int i = 0; i < len; i++) {
                            if (b[i] < 0) {
                                eightBit.set(watched);
                                break;
                            }
                        }
                    }
                    out.write(b, 0, len);
                }
                case QUOTED_PRINTABLE -> {
                    for (int i = 0; i < len; i++) {
                        encode(b[i] & 0xff);
                    }
                }
            }
        }

        void finish() {
            if (mode == Mode.HEADER) {
                writeHeader(null, false);
            } else if (mode == Mode.QUOTED_PRINTABLE) {
                endEncoded(); // the last line's end follows (the client ends it)
            }
        }

        /** The end of an encoded part: a CR held back is data, a line break held back is the delimiter's. */
        private void endEncoded() {
            if (pendingCr) {
                pendingCr = false;
                flushSpace(false);
                escaped('\r');
            }
            if (pendingBreak != 0) {
                pendingBreak = 0;
                hardBreak();
            }
            flushSpace(true);
        }

        // ---- boundaries (RFC 2046 §5.1.1)

        /** True when the line is a boundary line of an open multipart, which it then handles. */
        private boolean boundary(byte[] b, int len) {
            if (len < 3 || b[0] != '-' || b[1] != '-') {
                return false;
            }
            int k = 0;
            for (Frame f : frames) { // innermost first
                int close = delimiter(b, len, f.boundary());
                if (close >= 0) {
                    endEntity();
                    for (int i = 0; i < k; i++) {
                        frames.pop();
                    }
                    out.write(b, 0, len);
                    if (close == 1) {
                        frames.pop();             // the epilogue follows: the enclosing part's text
                        mode = Mode.PASS;
                        watched = -1;
                        depth = f.depth();
                    } else {
                        mode = Mode.HEADER;      // a new part
                        depth = f.depth() + 1;
                        digestPart = f.digest();
                    }
                    return true;
                }
                k++;
            }
            return false;
        }

        /**
         * 0 for a line that starts "--boundary", 1 for one that starts "--boundary--", -1 for
         * neither. What follows on the line does not matter: RFC 2046 §5.1.1 asks implementors to
         * compare the boundary with the beginning of each line only, and Postfix does so.
         */
        private static int delimiter(byte[] b, int len, byte[] boundary) {
            int end = 2 + boundary.length;
            if (len < end || !Arrays.equals(b, 2, end, boundary, 0, boundary.length)) {
                return -1;
            }
            return len >= end + 2 && b[end] == '-' && b[end + 1] == '-' ? 1 : 0;
        }

        private void endEntity() {
            if (mode == Mode.HEADER) {
                writeHeader(null, false);
            }
            if (mode == Mode.QUOTED_PRINTABLE) {
                endEncoded();
            }
            watched = -1;
        }

        // ---- header sections

        private void headerPiece(byte[] b, int len, boolean startsLine, boolean endsLine) {
            boolean blank = startsLine && endsLine && (len == 1 || len == 2 && b[0] == '\r');
            if (blank || startsLine && !fieldLine(b, len)) {
                headerEnded();
                if (blank) {
                    out.write(b, 0, len);
                } else {
                    // Not a field: the body has begun without the empty line. It is written, so that
                    // what follows (the fields of a message inside, say) is not read as this header.
                    out.write(CRLF);
                    piece(b, len, startsLine, endsLine);
                }
                return;
            }
            if (headerSize + len > MAX_HEADER) {
                writeHeader(null, false);
                mode = Mode.PASS;
                watched = -1;
                out.write(b, 0, len);
                return;
            }
            header.add(Arrays.copyOf(b, len));
            headerSize += len;
        }

        /** A field's first line ("Name:"), or a folded continuation (white space first). */
        private boolean fieldLine(byte[] b, int len) {
            if (b[0] == ' ' || b[0] == '\t') {
                return !header.isEmpty();
            }
            int i = 0;
            while (i < len && (b[i] & 0xff) > ' ' && (b[i] & 0xff) <= '~' && b[i] != ':') {
                i++;
            }
            int name = i;
            if (i == len && len == PIECE) {
                return true; // a field name longer than a piece: its colon is further on
            }
            while (i < len && (b[i] == ' ' || b[i] == '\t')) { // "Subject :", the obsolete form (RFC 5322 §4.5)
                i++;
            }
            return name > 0 && i < len && b[i] == ':';
        }

        /** The current entity's header section is complete: decide what its body is. */
        private void headerEnded() {
            Optional<String> contentType = field("content-type");
            String type = contentType.map(v -> token(v.split(";", 2)[0]))
                    .filter(t -> !t.isEmpty()).orElse(digestPart ? "message/rfc822" : "text/plain");
            String cte = field("content-transfer-encoding").map(MimeDowngrade::token).orElse("7bit");
            boolean eightBitLabel = cte.equals("8bit") || cte.equals("binary");
            boolean identity = eightBitLabel || cte.equals("7bit");
            boolean nested = depth < MAX_DEPTH;
            boolean multipart = type.startsWith("multipart/");
            // RFC 2046 §5.1, §5.2: a multipart and these message types are never encoded, whatever is in them.
            boolean composite = multipart || type.equals("message/rfc822") || type.equals("message/partial")
                    || type.equals("message/external-body");
            Optional<String> boundary = multipart ? contentType.flatMap(MimeDowngrade::boundaryOf) : Optional.empty();
            if (composite && nested && identity && boundary.isPresent()) {
                writeHeader(eightBitLabel ? "7bit" : null, false);
                frames.push(new Frame(boundary.get().getBytes(StandardCharsets.ISO_8859_1), type.equals("multipart/digest"), depth));
                mode = Mode.PASS;                // the preamble
                watched = -1;
            } else if (composite && nested && identity && type.equals("message/rfc822")) {
                writeHeader(eightBitLabel ? "7bit" : null, false);
                mode = Mode.HEADER;              // the message inside
                depth++;
                digestPart = false;
            } else if (composite) {
                writeHeader(null, false);        // a structure not followed (too deep, no boundary) passes as it is
                mode = Mode.PASS;
                watched = -1;
            } else {
                int leaf = leaves++;
                boolean encode = eightBitLabel || cte.equals("7bit") && !scanning && eightBit.get(leaf);
                if (encode) {
                    writeHeader("quoted-printable", depth == 0 && field("mime-version").isEmpty());
                    mode = Mode.QUOTED_PRINTABLE;
                    // RFC 2045 §6.7 rule 4: only text has line breaks; other types' CR and LF are data.
                    binary = !type.startsWith("text/") && !type.startsWith("message/");
                    column = 0;
                    pendingSpace = -1;
                    pendingCr = false;
                    pendingBreak = 0;
                    watched = -1;
                } else {
                    writeHeader(null, false);
                    mode = Mode.PASS;
                    watched = cte.equals("7bit") ? leaf : -1;
                }
            }
        }

        /**
         * Writes the header section kept so far and forgets it; with {@code encoding}, every
         * Content-Transfer-Encoding field is replaced by one naming it, at the end of the section.
         */
        private void writeHeader(String encoding, boolean addMimeVersion) {
            boolean skipping = false;
            boolean lineStart = true;
            for (byte[] line : header) {
                if (lineStart && line.length > 0 && line[0] != ' ' && line[0] != '\t') {
                    skipping = encoding != null && named(line, "content-transfer-encoding");
                }
                if (!skipping) {
                    out.write(line);
                }
                lineStart = line[line.length - 1] == '\n';
            }
            if (!lineStart) {
                out.write(CRLF);
            }
            if (addMimeVersion) {
                out.write("MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            if (encoding != null) {
                out.write(("Content-Transfer-Encoding: " + encoding + "\r\n").getBytes(StandardCharsets.US_ASCII));
                changed = true;
            }
            header.clear();
            headerSize = 0;
        }

        /** The unfolded value of the first field named {@code name} in the kept header section. */
        private Optional<String> field(String name) {
            StringBuilder value = null;
            boolean lineStart = true;
            for (byte[] line : header) {
                boolean continuation = !lineStart || line[0] == ' ' || line[0] == '\t';
                if (value != null) {
                    if (!continuation) {
                        break;
                    }
                    value.append(new String(line, StandardCharsets.ISO_8859_1));
                } else if (!continuation && named(line, name)) {
                    String first = new String(line, StandardCharsets.ISO_8859_1);
                    value = new StringBuilder(first.substring(first.indexOf(':') + 1));
                }
                lineStart = line[line.length - 1] == '\n';
            }
            return value == null ? Optional.empty() : Optional.of(value.toString().replace("\r", "").replace("\n", ""));
        }

        private static boolean named(byte[] line, String name) {
            int n = name.length();
            if (line.length <= n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (Character.toLowerCase((char) (line[i] & 0xff)) != name.charAt(i)) {
                    return false;
                }
            }
            int i = n;
            while (i < line.length && (line[i] == ' ' || line[i] == '\t')) {
                i++;
            }
            return i < line.length && line[i] == ':';
        }

        // ---- quoted-printable (RFC 2045 §6.7)

        private void encode(int c) {
            if (pendingBreak != 0) {       // binary: more data follows, so the line break was data
                flushSpace(false);
                if (pendingBreak == 2) {
                    escaped('\r');
                }
                escaped('\n');
                pendingBreak = 0;
            }
            if (pendingCr) {
                pendingCr = false;
                if (c == '\n') {
                    lineBreak(2);
                    return;
                }
                flushSpace(false);
                escaped('\r');             // a CR on its own is data
            }
            if (c == '\r') {
                pendingCr = true;
            } else if (c == '\n') {
                lineBreak(1);
            } else if (c == ' ' || c == '\t') {
                flushSpace(false);
                pendingSpace = c;
            } else {
                flushSpace(false);
                if (c > ' ' && c <= '~' && c != '=') {
                    room(1);
                    if (c == '-' && column == 0) {
                        escaped(c);        // a '-' that starts a line could make a boundary line
                    } else {
                        literal(c);
                    }
                } else {
                    escaped(c);
                }
            }
        }

        /** A line break of the part: a hard break in text; in other types held back, since it may be the delimiter's. */
        private void lineBreak(int octets) {
            if (binary) {
                pendingBreak = octets;
            } else {
                hardBreak();
            }
        }

        private void hardBreak() {
            flushSpace(true);
            out.write(CRLF);
            column = 0;
        }

        /** The space or tab held back: escaped when it ends the line (rule 3), as it is otherwise. */
        private void flushSpace(boolean lineEnds) {
            if (pendingSpace >= 0) {
                int s = pendingSpace;
                pendingSpace = -1;
                if (lineEnds) {
                    escaped(s);
                } else {
                    literal(s);
                }
            }
        }

        private void literal(int c) {
            room(1);
            out.write(c);
            column++;
        }

        private void escaped(int c) {
            room(3);
            out.write('=');
            out.write(HEX[c >> 4]);
            out.write(HEX[c & 0xf]);
            column += 3;
        }

        private void room(int width) {
            if (column + width > QP_LINE) {
                out.write(SOFT_BREAK);
                column = 0;
            }
        }
    }

    /** The longest boundary taken: RFC 2046 says 70, Postfix takes up to its mime_boundary_length_limit, 2048. */
    static final int MAX_BOUNDARY = 2048;

    /**
     * The boundary parameter of a Content-Type value (RFC 2045 §5.1: a token or a quoted string),
     * 1 to {@link #MAX_BOUNDARY} characters. One pass over the value, whatever it holds.
     */
    static Optional<String> boundaryOf(String contentType) {
        int n = contentType.length();
        int i = skipTo(contentType, 0, ';');   // past the type
        while (i < n) {
            i++;                                  // the ';'
            int nameStart = i;
            while (i < n && contentType.charAt(i) != '=' && contentType.charAt(i) != ';') {
                i++;
            }
            if (i >= n || contentType.charAt(i) == ';') {
                continue;                         // a parameter without a value
            }
            String name = contentType.substring(nameStart, i).trim();
            i++;                                  // the '='
            while (i < n && (contentType.charAt(i) == ' ' || contentType.charAt(i) == '\t')) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && contentType.charAt(i) == '"') {
                for (i++; i < n && contentType.charAt(i) != '"'; i++) {
                    if (contentType.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    value.append(contentType.charAt(i));
                }
                i++;                              // the closing quote
            } else {
                for (; i < n && contentType.charAt(i) != ';' && contentType.charAt(i) > ' ' && contentType.charAt(i) != '('; i++) {
                    value.append(contentType.charAt(i));
                }
            }
            if (name.equalsIgnoreCase("boundary")) {
                String b = value.toString();
                return b.isEmpty() || b.length() > MAX_BOUNDARY ? Optional.empty() : Optional.of(b);
            }
            i = skipTo(contentType, Math.min(i, n), ';');
        }
        return Optional.empty();
    }

    /** The index of the next {@code c} at or after {@code from} outside quoted strings, or the length. */
    private static int skipTo(String s, int from, char c) {
        boolean quoted = false;
        for (int i = from; i < s.length(); i++) {
            char x = s.charAt(i);
            if (quoted && x == '\\') {
                i++;
            } else if (x == '"') {
                quoted = !quoted;
            } else if (!quoted && x == c) {
                return i;
            }
        }
        return s.length();
    }

    /** A field's value as one lower-case token: comments, quotes and white space around it dropped ("(c) 8bit", "\"8bit\""). */
    static String token(String value) {
        StringBuilder b = new StringBuilder();
        int comment = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '(') {
                comment++;
            } else if (c == ')' && comment > 0) {
                comment--;
            } else if (comment == 0 && c != '"') {
                b.append(c);
            }
        }
        String t = b.toString().trim();
        int space = t.indexOf(' ');
        return (space < 0 ? t : t.substring(0, space)).toLowerCase(Locale.ROOT);
    }
}
