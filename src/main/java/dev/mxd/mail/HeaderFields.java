package dev.mxd.mail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The header fields of a spooled text, read from its file up to the blank line that ends the
 * header section (RFC 5322 §2.1), unfolded (§2.2.3), octets as ISO-8859-1 characters; for the few
 * fields mxd looks at ({@code TLS-Required} and {@code Delivered-To} at delivery, {@code Message-ID}
 * for the log at acceptance). Bounded: at most
 * {@value #MAX_LINES} lines, each field cut at {@value #MAX_FIELD} characters.
 */
public final class HeaderFields {

    /** Header lines read at most: a header section longer than this is not looked at further. */
    private static final int MAX_LINES = 10_000;
    /** Characters kept of one field, unfolded. */
    private static final int MAX_FIELD = 1000;
    /**
     * Characters read at a time: most header sections fit, and every remote delivery reads one, so
     * the reader's default of 8,192 (with as many octets under it) was a fifth of all a message allocated.
     */
    private static final int HEADER_BUFFER = 2048;

    private HeaderFields() {}

    /** Whether {@code test} holds for a field of the header section of {@code text}; stops at the first that does. */
    public static boolean any(Path text, Predicate<String> test) throws IOException {
        try (InputStream in = Files.newInputStream(text)) {
            return any(in, test);
        }
    }

    /** {@link #any(Path, Predicate)} for a text read from {@code text}, which the caller closes. */
    public static boolean any(InputStream text, Predicate<String> test) throws IOException {
        BufferedReader in = new BufferedReader(new Latin1Reader(text), HEADER_BUFFER);
        StringBuilder field = new StringBuilder();
        for (int n = 0; n < MAX_LINES; n++) {
            String line = in.readLine();
            if (line == null || line.isEmpty()) {
                return field.length() > 0 && test.test(field.toString()); // the end of the header section
            }
            if ((line.startsWith(" ") || line.startsWith("\t")) && field.length() > 0) {
                if (field.length() < MAX_FIELD) {
                    field.append(line); // unfolding
                }
                continue;
            }
            if (field.length() > 0 && test.test(field.toString())) {
                return true;
            }
            field.setLength(0);
            field.append(line.length() > MAX_FIELD ? line.substring(0, MAX_FIELD) : line);
        }
        return false;
    }

    /** The value of {@code field}, stripped, when its name is {@code name} (case-insensitive). */
    public static Optional<String> value(String field, String name) {
        int colon = field.indexOf(':');
        return colon > 0 && field.substring(0, colon).strip().equalsIgnoreCase(name)
                ? Optional.of(field.substring(colon + 1).strip()) : Optional.empty();
    }

    /**
     * Octets as ISO-8859-1 characters, one for one, as an {@code InputStreamReader} for that
     * charset reads them, but without asking the stream first how much it has ready: for a file
     * that question is an {@code fstat} and an {@code lseek}, two system calls for every message
     * the remote agent looks at.
     */
    private static final class Latin1Reader extends Reader {

        private final InputStream in;
        private byte[] bytes = new byte[0];

        Latin1Reader(InputStream in) {
            this.in = in;
        }

        @Override
        public int read(char[] chars, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (bytes.length < len) {
                bytes = new byte[len];
            }
            int n = in.read(bytes, 0, len);
            for (int i = 0; i < n; i++) {
                chars[off + i] = (char) (bytes[i] & 0xff);
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
