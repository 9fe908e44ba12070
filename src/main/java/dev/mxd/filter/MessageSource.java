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
    long size() throws IOException;

    /** A fresh stream from the first byte; the caller closes it. */
    InputStream open() throws IOException;

    static MessageSource of(Path file) {
        return new MessageSource() {
            @Override
            public long size() throws IOException {
                return Files.size(file);
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
