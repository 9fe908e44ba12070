package dev.mxd.delivery;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The {@code TLS-Required} header field of RFC 8689 §5: a sender's {@code TLS-Required: No} asks that
 * the recipient side's TLS policies (DANE, MTA-STS) not keep the message from being delivered, so it
 * goes with opportunistic TLS. Read from the spooled text's header section only.
 */
final class TlsRequiredField {

    /** Header lines read at most: a header section longer than this is not looked at further. */
    private static final int MAX_LINES = 10_000;
    /**
     * Characters read at a time: most header sections fit, and every remote delivery reads one, so
     * the reader's default of 8,192 (with as many octets under it) was a fifth of all a message allocated.
     */
    private static final int HEADER_BUFFER = 2048;

    private TlsRequiredField() {}

    /** Whether the header section of the message in {@code text} has {@code TLS-Required: No}. */
    static boolean saysNo(Path text) throws IOException {
        try (BufferedReader in = new BufferedReader(new Latin1Reader(Files.newInputStream(text)), HEADER_BUFFER)) {
            StringBuilder field = new StringBuilder();
            for (int n = 0; n < MAX_LINES; n++) {
                String line = in.readLine();
                if (line == null || line.isEmpty()) {
                    return says(field); // the end of the header section (RFC 5322 §2.1)
                }
                if ((line.startsWith(" ") || line.startsWith("\t")) && field.length() > 0) {
                    if (field.length() < 1000) {
                        field.append(line); // RFC 5322 §2.2.3 unfolding
                    }
                    continue;
                }
                if (says(field)) {
                    return true;
                }
                field.setLength(0);
                field.append(line.length() > 1000 ? line.substring(0, 1000) : line);
            }
            return false;
        }
    }

    /** RFC 8689 §5: {@code TLS-Required: No}, the name and the value case-insensitive. */
    private static boolean says(CharSequence field) {
        String f = field.toString();
        int colon = f.indexOf(':');
        return colon > 0 && f.substring(0, colon).strip().equalsIgnoreCase("TLS-Required")
                && f.substring(colon + 1).strip().toLowerCase(Locale.ROOT).equals("no");
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
