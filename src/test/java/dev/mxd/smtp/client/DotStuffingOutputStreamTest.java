package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The DATA encoding on bytes: transparency dots, CRLF line ends, the final dot. */
class DotStuffingOutputStreamTest {

    private static String encode(String content, int blockSize) throws IOException {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        DotStuffingOutputStream out = new DotStuffingOutputStream(wire);
        byte[] bytes = content.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < bytes.length; i += blockSize) {
            out.write(bytes, i, Math.min(blockSize, bytes.length - i));
        }
        out.finish();
        assertThat(out.written()).isEqualTo(wire.size());
        return wire.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void leadingDotsAreDoubledOnEveryLine() throws IOException {
        assertThat(encode(".a\r\nb.\r\n..c\r\n.\r\n", 1000)).isEqualTo("..a\r\nb.\r\n...c\r\n..\r\n.\r\n");
    }

    @Test
    void bareLineFeedsBecomeCrLf() throws IOException {
        assertThat(encode("Subject: x\n\nbody\r\nmore\n", 1000)).isEqualTo("Subject: x\r\n\r\nbody\r\nmore\r\n.\r\n");
    }

    @Test
    void aLastLineWithoutEndGetsOne() throws IOException {
        assertThat(encode("a\r\nno end", 1000)).isEqualTo("a\r\nno end\r\n.\r\n");
        assertThat(encode("ends in cr\r", 1000)).isEqualTo("ends in cr\r\n.\r\n");
    }

    @Test
    void emptyContentIsJustTheFinalDot() throws IOException {
        assertThat(encode("", 1000)).isEqualTo(".\r\n");
    }

    @Test
    void blockBoundariesDoNotMatter() throws IOException {
        String content = ".x\n.\r\n\r\n.y\rz\n..\n\u00e9t\u00e9\n";
        String whole = encode(content, 1000);
        for (int block = 1; block <= 5; block++) {
            assertThat(encode(content, block)).as("block size %d", block).isEqualTo(whole);
        }
        assertThat(whole).isEqualTo("..x\r\n..\r\n\r\n..y\rz\r\n...\r\n\u00e9t\u00e9\r\n.\r\n");
    }

    @Test
    void aBareCarriageReturnIsNotALineEnd() throws IOException {
        assertThat(encode("a\r.b\n", 1000)).isEqualTo("a\r.b\r\n.\r\n");
    }

    /** RFC 5321 §4.5.3.1.6: at most 998 octets and CRLF a line; longer ones are folded with CRLF SP, as Postfix does. */
    @Test
    void aLineOver998OctetsIsFoldedWithCrLfAndASpace() throws IOException {
        String exact = "x".repeat(998);
        assertThat(encode(exact + "\r\nnext\r\n", 1000)).as("998 is allowed").isEqualTo(exact + "\r\nnext\r\n.\r\n");
        String longLine = "y".repeat(2500);
        for (int block = 1; block <= 1001; block += 500) {
            String wire = encode("H: " + longLine + "\r\n." + "z".repeat(1200) + "\r\n", block);
            for (String line : wire.split("\r\n", -1)) {
                // the dot duplicated for transparency is not counted (RFC 5321 §4.5.3.1.6)
                assertThat(line.startsWith("..") ? line.length() - 1 : line.length()).as("block size %d", block).isLessThanOrEqualTo(998);
            }
            assertThat(wire.replace("\r\n ", "")).as("only CRLF SP inserted").isEqualTo("H: " + longLine + "\r\n.." + "z".repeat(1200) + "\r\n.\r\n");
            assertThat(wire).startsWith("H: " + "y".repeat(995) + "\r\n " + "y");
        }
        assertThat(encode("a".repeat(998) + ".b\r\n", 1000)).as("a folded line's dot is not at a line start")
                .isEqualTo("a".repeat(998) + "\r\n .b\r\n.\r\n");
    }

    /**
     * A line of 998 octets that starts with "." goes whole, its dot doubled: RFC 5321 §4.5.3.1.6 does not count the
     * dot duplicated for transparency, nor does Postfix. It was folded one octet early, which changed the message (a
     * DKIM body hash broken, a base64 line cut).
     */
    @Test
    void theDuplicatedDotDoesNotCountTowardsTheLineLimit() throws IOException {
        String line = "." + "C".repeat(997);
        for (int block = 1; block <= 1001; block += 250) {
            assertThat(encode(line + "\r\nnext\r\n", block)).as("block size %d", block).isEqualTo("." + line + "\r\nnext\r\n.\r\n");
        }
        assertThat(encode("." + "C".repeat(998) + "\r\n", 1000)).as("999 octets still fold").isEqualTo(".." + "C".repeat(997) + "\r\n C\r\n.\r\n");
    }
}
