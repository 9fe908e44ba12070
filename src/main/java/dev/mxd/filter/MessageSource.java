package dev.mxd.filter;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The message text (RFC 5322, CRLF line ends, no dot-stuffing) as something each engine can read
 * from the start on its own: the spool file the SMTP server has already written, so that scanning
 * with three engines costs three reads of the file and no copy in memory.
 */
public interface MessageSource {

    /** Size in bytes; engines send it ahead (spamd Content-length, HTTP Content-Length, clamd's cap). */
    long size();

    /** A fresh stream from the first byte; the caller closes it. */
    InputStream open() throws IOException;

    /**
     * A complete file, such as the spool file written at end of DATA; its size is read now, so an
     * unreadable spool file is the caller's error (451 4.3.0), not an engine's.
     */
    static MessageSource of(Path file) throws IOException {
        long size = Files.size(file);
        return new MessageSource() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public InputStream open() throws IOException {
                return Files.newInputStream(file);
            }

            @Override
            public String toString() {
                return file.toString();
            }
        };
    }

    /** For tests and small generated messages. */
    static MessageSource of(byte[] text) {
        byte[] copy = text.clone();
        return new MessageSource() {
            @Override
            public long size() {
                return copy.length;
            }

            @Override
            public InputStream open() {
                return new ByteArrayInputStream(copy);
            }
        };
    }
}
