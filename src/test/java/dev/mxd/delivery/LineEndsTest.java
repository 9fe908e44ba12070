package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.MaildirText;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 15 point 7: the CRLF → LF conversion of Maildir files, at every buffer boundary. */
class LineEndsTest {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Converts {@code in} cut into buffers of {@code size} octets. */
    private static byte[] convert(byte[] in, int size) {
        LineEnds l = new LineEnds();
        byte[] out = new byte[size + 1];
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int off = 0; off < in.length; off += size) {
            int len = Math.min(size, in.length - off);
            all.write(out, 0, l.convert(in, off, len, out));
        }
        all.write(out, 0, l.finish(out));
        return all.toByteArray();
    }

    @Test
    void crlfPairsBecomeLfAndNothingElseChanges() {
        assertThat(convert(ascii("a\r\nb\r\n"), 64)).isEqualTo(ascii("a\nb\n"));
        assertThat(convert(ascii("a\rb\r"), 64)).as("lone CRs stay").isEqualTo(ascii("a\rb\r"));
        assertThat(convert(ascii("a\r\r\nb"), 64)).as("CR CR LF").isEqualTo(ascii("a\r\nb"));
        assertThat(convert(ascii("\n\n\r\r"), 64)).isEqualTo(ascii("\n\n\r\r"));
        assertThat(convert(new byte[0], 64)).isEmpty();
    }

    @Test
    void aCrEndingOneBufferAndAnLfStartingTheNextAreOneLf() {
        byte[] in = ascii("ab\r\ncd");
        assertThat(convert(in, 3)).as("CR last in the first buffer").isEqualTo(ascii("ab\ncd"));
        assertThat(convert(ascii("a\r\r\nb"), 2)).as("CR CR | LF").isEqualTo(ascii("a\r\nb"));
        assertThat(convert(ascii("a\r\r\nb"), 3)).as("CR | CR LF").isEqualTo(ascii("a\r\nb"));
        assertThat(convert(ascii("a\rb"), 2)).as("lone CR at a boundary").isEqualTo(ascii("a\rb"));
        assertThat(convert(ascii("a\r"), 2)).as("CR at the very end").isEqualTo(ascii("a\r"));
        assertThat(convert(ascii("\r\n\r\n"), 1)).as("one octet at a time").isEqualTo(ascii("\n\n"));
    }

    @Test
    void binaryTextKeepsEveryOctetButCrLfPairsAtAnyBufferSize() {
        Random random = new Random(15);
        byte[] in = new byte[5000];
        random.nextBytes(in);
        for (int i = 0; i < in.length; i += 1 + random.nextInt(20)) {
            in[i] = (byte) (random.nextBoolean() ? '\r' : '\n'); // many CRs and LFs, in every order
        }
        byte[] expected = MaildirText.lf(in); // the rule itself: each CR LF pair becomes LF
        for (int size : new int[] {1, 2, 3, 7, 64, 4999, 5000, 8192}) {
            assertThat(convert(in, size)).as("buffers of %d", size).isEqualTo(expected);
        }
    }

    @Test
    void maildirFilesHoldLfAcrossPartsAndBuffers(@TempDir Path root) throws Exception {
        Maildir m = new Maildir(root, "mx.test", Clock.systemUTC());
        // headers ending in CR, the text starting with LF: still one LF
        Path parts = m.deliver("example.test", "alice", ascii("Return-Path: <>\r"), ascii("\nSubject: x\r\n\r\nlone\rCR\r\n"));
        assertThat(Files.readAllBytes(parts)).isEqualTo(ascii("Return-Path: <>\nSubject: x\n\nlone\rCR\n"));

        // a spooled text longer than Maildir's copy buffer, with a CR LF across its 64 KiB boundary
        StringBuilder text = new StringBuilder("Subject: big\r\n\r\n");
        text.append("x".repeat(64 * 1024 - 1 - text.length())).append("\r\n");
        for (int i = 0; i < 3000; i++) {
            text.append("line ").append(i).append(i % 7 == 0 ? "\r" : "").append("\r\n");
        }
        byte[] spooled = ascii(text + "ENVELOPE");
        Path file = Files.write(root.resolve("spooled"), spooled);
        Path delivered = m.deliver("example.test", "alice", ascii("Delivered-To: a@example.test\r\n"), file, spooled.length - "ENVELOPE".length());
        assertThat(Files.readAllBytes(delivered)).isEqualTo(ascii(MaildirText.lf("Delivered-To: a@example.test\r\n" + text)));
        assertThat(Files.readAllBytes(file)).as("the spooled text keeps CRLF").isEqualTo(spooled);
    }
}
