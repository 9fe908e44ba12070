package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The named fields of the header section are left out (Return-Path at final delivery); nothing else changes, in any chunking. */
class HeaderFieldRemoverTest {

    private static String copy(String text, int block) throws IOException {
        return copy(text, block, List.of("Return-Path"));
    }

    private static String copy(String text, int block, List<String> names) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HeaderFieldRemover r = new HeaderFieldRemover(out::write, names);
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < b.length; i += block) {
            r.write(b, i, Math.min(block, b.length - i));
        }
        r.finish();
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static void assertCopies(String text, String expected) throws IOException {
        for (int block : new int[] {1, 2, 3, 7, 64, 100_000}) {
            assertThat(copy(text, block)).as("block size %d", block).isEqualTo(expected);
        }
    }

    @Test
    void aPlantedReturnPathAndItsContinuationLinesAreLeftOut() throws IOException {
        assertCopies("Received: from x\r\n\tby y\r\nreturn-PATH: <ceo@bank.example>\r\n  <more>\r\nSubject: hi\r\n\r\nbody\r\n",
                "Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody\r\n");
        assertCopies("Return-Path : <a@b>\nX: 1\n\nbody\n", "X: 1\n\nbody\n");
    }

    @Test
    void theBodyAndOtherFieldsPassUntouched() throws IOException {
        String body = "Subject: x\r\nReturn-Path-Not: y\r\nX-Return-Path: z\r\n\r\nReturn-Path: <in the body>\r\n";
        assertCopies(body, body);
        assertCopies("", "");
        assertCopies("no header section at all, no colon", "no header section at all, no colon");
        String longName = "X-" + "n".repeat(200) + ": v\r\n\r\nb";
        assertCopies(longName, longName);
        assertCopies("\r\nReturn-Path: <body>\r\n", "\r\nReturn-Path: <body>\r\n");
    }

    /** What the spool leaves out of every message, as Postfix's cleanup does: Bcc, Resent-Bcc, Content-Length, folded or not. */
    @Test
    void theFieldsLeftOutAtAcceptance() throws IOException {
        String text = "From: a@b.test\r\nBCC: boss@b.test,\r\n\tsecret@b.test\r\nResent-Bcc : x@b.test\r\n"
                + "Content-Length: 12\r\nBcc-Not: kept\r\nX-Bcc: kept\r\nTo: c@d.test\r\n\r\nBcc: in the body\r\n";
        String expected = "From: a@b.test\r\nBcc-Not: kept\r\nX-Bcc: kept\r\nTo: c@d.test\r\n\r\nBcc: in the body\r\n";
        for (int block : new int[] {1, 2, 3, 7, 64, 100_000}) {
            assertThat(copy(text, block, HeaderFieldRemover.DROPPED_AT_ACCEPTANCE)).as("block size %d", block).isEqualTo(expected);
        }
        // and a Return-Path, which is the final delivery's to write (Postfix's cleanup drops it too): a planted one relayed
        // reached the next hop, whose readers trust it
        assertThat(copy("Return-Path: <planted@evil.test>\r\nSubject: s\r\n\r\nReturn-Path: in the body\r\n", 5,
                HeaderFieldRemover.DROPPED_AT_ACCEPTANCE)).isEqualTo("Subject: s\r\n\r\nReturn-Path: in the body\r\n");
    }

    /**
     * A line that is no field (no colon, or a name with a space) begins the body even without the empty line, as Postfix's
     * cleanup reads a header section: the lines after it are text, a "Bcc:" among them kept.
     */
    @Test
    void aLineThatIsNoFieldBeginsTheBody() throws IOException {
        String noColon = "Subject: q\r\nbody line\r\nBcc: x@b.test\r\nContent-Length: 3\r\n";
        String spaced = "Subject: q\r\nTwo words: text\r\nBcc: x@b.test\r\n";
        String emptyName = "Subject: q\r\n: text\r\nBcc: x@b.test\r\n";
        String longProse = "Subject: q\r\nThis line of prose runs on for well over sixty-four octets before any colon: then\r\n"
                + "Bcc: carol@b.test was also sent a copy\r\n";
        for (int block : new int[] {1, 2, 3, 7, 64, 100_000}) {
            for (String text : new String[] {noColon, spaced, emptyName, longProse}) {
                assertThat(copy(text, block, HeaderFieldRemover.DROPPED_AT_ACCEPTANCE)).as("block size %d", block).isEqualTo(text);
            }
            assertThat(copy("Bcc: x\r\nSubject: q\r\nbody\r\nBcc: y\r\n", block, HeaderFieldRemover.DROPPED_AT_ACCEPTANCE))
                    .isEqualTo("Subject: q\r\nbody\r\nBcc: y\r\n");
        }
    }
}
