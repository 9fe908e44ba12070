package dev.mxd.smtp.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The message to send, as a source of streams: a spooled message may be 25 MB or more, so the
 * client reads it in blocks while it writes DATA and never holds it whole. Lines may end in CRLF
 * or a bare LF (the client sends CRLF either way); dots are not stuffed (the client does that).
 */
public interface MessageContent {

    /** A new stream over the whole message, from its first header byte. The caller closes it. */
    InputStream open() throws IOException;

    /** The size in bytes, as declared with SIZE= (RFC 1870 §3 allows an estimate). */
    long size();

    /** A spooled file, whole. */
    static MessageContent of(Path file) throws IOException {
        return of(file, Files.size(file));
    }

    /** The first {@code size} octets of a spooled file (the spool may keep more after the text). */
    static MessageContent of(Path file, long size) {
        return new MessageContent() {
            @Override
            public InputStream open() throws IOException {
                return new BoundedInputStream(Files.newInputStream(file), size);
            }

            @Override
            public long size() {
                return size;
            }
        };
    }

    /** A message in memory: for small messages and tests. */
    static MessageContent of(byte[] bytes) {
        byte[] copy = bytes.clone();
        return new MessageContent() {
            @Override
            public InputStream open() {
                return new ByteArrayInputStream(copy);
            }

            @Override
            public long size() {
                return copy.length;
            }
        };
    }
}
