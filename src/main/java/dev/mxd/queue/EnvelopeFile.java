package dev.mxd.queue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads an envelope wherever it is kept (docs/spool.md). A message accepted by this version
 * carries its first envelope at the end of its text file, after the text and before a footer
 * line {@code #mxd-envelope NNNNNNNNNN} that gives the envelope's length; its
 * {@code incoming/ID.json} is a hard link to that file, so acceptance creates one inode, not
 * two. Once a recipient's state changes, {@code STATE/ID.json} is rewritten as a plain JSON
 * file. Both are read here; the text's readers take only the envelope's {@code size} octets.
 */
final class EnvelopeFile {

    private static final byte[] MARK = "\n#mxd-envelope ".getBytes(StandardCharsets.US_ASCII);
    private static final int DIGITS = 10;
    /** Octets of the footer: the mark, ten digits, a newline. */
    static final int FOOTER = MARK.length + DIGITS + 1;
    /**
     * An envelope file larger than this is not one. A plain envelope is about 200 octets a recipient, more once each
     * has a server's reply: 100,000 recipients (max-recipients has no upper bound) passed the 16 MB this was, and the
     * message's first rewrite made it unreadable for good. 1 GiB, as large as one array holds.
     */
    private static final long MAX_PLAIN = 1L << 30;

    private EnvelopeFile() {}

    /** What follows the text in its file: the envelope's JSON, then the footer. */
    static byte[] trailer(byte[] json) {
        byte[] out = new byte[json.length + FOOTER];
        System.arraycopy(json, 0, out, 0, json.length);
        System.arraycopy(MARK, 0, out, json.length, MARK.length);
        int n = json.length;
        for (int i = out.length - 2; i >= json.length + MARK.length; i--) { // the length in ten digits, zeros first
            out[i] = (byte) ('0' + n % 10);
            n /= 10;
        }
        out[out.length - 1] = '\n';
        return out;
    }

    /** The envelope in {@code file}: embedded after a text, or a plain JSON file. */
    static Envelope read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size >= FOOTER) {
                byte[] footer = readAt(ch, size - FOOTER, FOOTER, file);
                long length = embeddedLength(footer);
                if (length >= 0) {
                    if (length > size - FOOTER) {
                        throw new IOException(file + ": the envelope footer gives " + length + " octets, the file has " + size);
                    }
                    return EnvelopeJson.read(readAt(ch, size - FOOTER - length, (int) length, file));
                }
            }
            if (size > MAX_PLAIN) {
                throw new IOException(file + ": " + size + " octets and no envelope footer: not an envelope file");
            }
            if (size > 0 && readAt(ch, 0, 1, file)[0] != '{') { // a text without its trailer (a spare, a crash): not read whole
                throw new IOException(file + ": no envelope footer and no JSON object: not an envelope file");
            }
            return EnvelopeJson.read(readAt(ch, 0, (int) size, file));
        }
    }

    /** The length the footer gives, or -1 when {@code footer} is not one. */
    private static long embeddedLength(byte[] footer) {
        for (int i = 0; i < MARK.length; i++) {
            if (footer[i] != MARK[i]) {
                return -1;
            }
        }
        long n = 0;
        for (int i = MARK.length; i < MARK.length + DIGITS; i++) {
            if (footer[i] < '0' || footer[i] > '9') {
                return -1;
            }
            n = n * 10 + (footer[i] - '0');
        }
        return footer[FOOTER - 1] == '\n' ? n : -1;
    }

    private static byte[] readAt(FileChannel ch, long position, int length, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) {
                throw new IOException(file + ": ends before octet " + (position + length));
            }
        }
        return b.array();
    }
}
