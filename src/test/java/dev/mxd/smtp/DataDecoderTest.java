package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DataDecoderTest {

    /** The text the decoder under test has written to its sink. */
    private final ByteArrayOutputStream text = new ByteArrayOutputStream();

    private String content() {
        return text.toString(StandardCharsets.ISO_8859_1);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private DataDecoder decoder() {
        return new DataDecoder(1 << 20, 1000, text::write);
    }

    @Test
    void endsAtCrLfDotCrLfAndLeavesTheRest() {
        DataDecoder d = decoder();
        byte[] in = b("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
        int used = d.feed(in, 0, in.length);
        assertThat(new String(in, used, in.length - used, StandardCharsets.US_ASCII)).isEqualTo("QUIT\r\n");
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo("Subject: x\r\n\r\nhello\r\n");
        assertThat(((DataOutcome.Complete) d.outcome().get()).size()).isEqualTo(21);
    }

    @Test
    void emptyMessage() {
        DataDecoder d = decoder();
        assertThat(d.feed(b(".\r\n"), 0, 3)).isEqualTo(3);
        assertThat(((DataOutcome.Complete) d.outcome().get()).size()).isZero();
        assertThat(content()).isEmpty();
    }

    @Test
    void dotUnstuffing() {
        DataDecoder d = decoder();
        byte[] in = b("..leading dot\r\n...\r\n.x\r\n.\r\n");
        d.feed(in, 0, in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo(".leading dot\r\n..\r\nx\r\n");
    }

    @Test
    void byteByByteGivesTheSameResult() {
        DataDecoder d = decoder();
        byte[] in = b("a\r\n..b\r\n\r\n.\r\nNEXT");
        int used = 0;
        for (int i = 0; i < in.length && d.outcome().isEmpty(); i++) {
            used += d.feed(in, i, 1);
        }
        assertThat(used).isEqualTo(in.length - 4);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo("a\r\n.b\r\n\r\n");
    }

    @Test
    void eightBitBytesPassUnchanged() {
        DataDecoder d = decoder();
        byte[] in = {(byte) 0xe9, (byte) 0xff, (byte) 0x80, '\r', '\n', '.', '\r', '\n'};
        d.feed(in, 0, in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(text.toByteArray()).containsExactly((byte) 0xe9, (byte) 0xff, (byte) 0x80, (byte) 13, (byte) 10);
    }

    private DataOutcome outcomeOf(String text) {
        DataDecoder d = decoder();
        byte[] in = b(text);
        d.feed(in, 0, in.length);
        return d.outcome().orElse(null);
    }

    @Test
    void smugglingVariantsNeverEndTheMessage() {
        // Each of these is a "fake end of data" that some servers accept; here each is a bare line ending.
        assertThat(outcomeOf("a\r\n\n.\r\nMAIL FROM:<x@y>\r\n")).isInstanceOf(DataOutcome.BareLineEnding.class);   // <LF>.<CR><LF>
        assertThat(outcomeOf("a\r\n.\n")).isInstanceOf(DataOutcome.BareLineEnding.class);                         // .<LF>
        assertThat(outcomeOf("a\n.\nMAIL FROM:<x@y>\n")).isInstanceOf(DataOutcome.BareLineEnding.class);           // <LF>.<LF>
        assertThat(outcomeOf("a\r.\rMAIL FROM:<x@y>\r")).isInstanceOf(DataOutcome.BareLineEnding.class);           // <CR>.<CR>
        assertThat(outcomeOf("a\r\n.\r\r\n")).isInstanceOf(DataOutcome.BareLineEnding.class);                      // .<CR><CR><LF>
        assertThat(outcomeOf("a\r\n.\rX")).isInstanceOf(DataOutcome.BareLineEnding.class);
        assertThat(outcomeOf("bare cr\rinside\r\n.\r\n")).isInstanceOf(DataOutcome.BareLineEnding.class);
    }

    @Test
    void bareLineEndingStopsRightThere() {
        DataDecoder d = decoder();
        byte[] in = b("ok\r\nbad\nrest\r\n.\r\n");
        int used = d.feed(in, 0, in.length);
        assertThat(used).isEqualTo(8);
        assertThat(((DataOutcome.BareLineEnding) d.outcome().get()).offset()).isEqualTo(7);
    }

    @Test
    void tooBigIsReportedAtTheEnd() {
        DataDecoder d = new DataDecoder(10, 1000, text::write);
        byte[] in = b("0123456789abcdef\r\n.\r\n");
        assertThat(d.feed(in, 0, in.length)).isEqualTo(in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.TooBig.class);
    }

    @Test
    void lineLengthIsBounded() {
        DataDecoder d = new DataDecoder(1 << 20, 1000, text::write);
        byte[] in = b("x".repeat(999) + "\r\n.\r\n");
        d.feed(in, 0, in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.LineTooLong.class);
        DataDecoder ok = new DataDecoder(1 << 20, 1000, (b, off, len) -> { });
        byte[] fits = b("x".repeat(998) + "\r\n.\r\n");
        ok.feed(fits, 0, fits.length);
        assertThat(ok.outcome()).containsInstanceOf(DataOutcome.Complete.class);
    }

    @Test
    void longTextReachesTheSinkInBoundedPiecesAndWhole() {
        java.util.List<Integer> pieces = new java.util.ArrayList<>();
        DataDecoder d = new DataDecoder(1 << 22, 1000, (b, off, len) -> {
            pieces.add(len);
            text.write(b, off, len);
        });
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            in.append(i % 7 == 0 ? ".." : "").append("line ").append(i).append("\r\n");
        }
        byte[] bytes = b(in + ".\r\n");
        for (int off = 0; off < bytes.length && d.outcome().isEmpty(); off += 1500) {
            d.feed(bytes, off, Math.min(1500, bytes.length - off));
        }
        String expected = in.toString().replace("\r\n..", "\r\n.").replaceFirst("^\\.\\.", ".");
        assertThat(content()).isEqualTo(expected);
        assertThat(((DataOutcome.Complete) d.outcome().get()).size()).isEqualTo(expected.length());
        assertThat(pieces).allMatch(n -> n <= 8192);
    }

    @Test
    void nothingPastTheSizeLimitReachesTheSink() {
        DataDecoder d = new DataDecoder(20_000, 1000, text::write);
        byte[] in = b("y".repeat(998) + "\r\n");
        for (int i = 0; i < 100; i++) {
            d.feed(in, 0, in.length);
        }
        d.feed(b(".\r\n"), 0, 3);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.TooBig.class);
        assertThat(text.size()).isLessThanOrEqualTo(20_000);
    }

    private static String received(int n) {
        return "Received: from hop" + n + ".test by hop" + (n + 1) + ".test;\r\n\tThu, 3 Dec 2026 10:00:00 +0000\r\n";
    }

    private DataOutcome decodeWithHops(String headers, int maxHops) {
        return decodeWithHops(headers, maxHops, BareLf.REJECT);
    }

    private DataOutcome decodeWithHops(String headers, int maxHops, BareLf bareLf) {
        DataDecoder d = new DataDecoder(1 << 20, 1000, maxHops, bareLf, text::write, DataDecoder.newStaging());
        byte[] in = b(headers + "Subject: loop\r\n\r\nReceived: in the body does not count\r\n.\r\n");
        d.feed(in, 0, in.length);
        return d.outcome().orElseThrow();
    }

    @Test
    void moreReceivedFieldsThanTheHopLimitIsALoop() {
        assertThat(decodeWithHops(received(1).repeat(5), 5)).isInstanceOf(DataOutcome.Complete.class);
        text.reset();
        assertThat(decodeWithHops(received(1).repeat(6), 5)).isEqualTo(new DataOutcome.TooManyHops(6, 5));
        text.reset();
        // Any case, and not a field whose name only starts like it; folded lines are one field.
        String mixed = "RECEIVED: a\r\nreceived: b\r\n  received: folded\r\nReceived-SPF: pass\r\nX-Received: c\r\n";
        assertThat(decodeWithHops(mixed, 1)).isEqualTo(new DataOutcome.TooManyHops(2, 1));
        text.reset();
        assertThat(decodeWithHops(mixed, 2)).isInstanceOf(DataOutcome.Complete.class);
    }

    @Test
    void hopsAreCountedOnLinesEndedByANormalizedBareLf() {
        String lfOnly = "Received: a\nreceived: b\n  received: folded\nX-Received: c\n";
        assertThat(decodeWithHops(lfOnly, 1, BareLf.NORMALIZE)).isEqualTo(new DataOutcome.TooManyHops(2, 1));
        text.reset();
        assertThat(decodeWithHops(lfOnly, 2, BareLf.NORMALIZE)).isInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).startsWith("Received: a\r\nreceived: b\r\n  received: folded\r\n");
    }

    private DataDecoder normalizing() {
        return new DataDecoder(1 << 20, 1000, Integer.MAX_VALUE, BareLf.NORMALIZE, text::write, DataDecoder.newStaging());
    }

    @Test
    void normalizedBareLfIsStoredAsCrLf() {
        DataDecoder d = normalizing();
        byte[] in = b("Subject: x\n\nline one\n..stuffed after LF\nline two\r\n..stuffed\r\n.\r\nQUIT\r\n");
        int used = d.feed(in, 0, in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo("Subject: x\r\n\r\nline one\r\n.stuffed after LF\r\nline two\r\n.stuffed\r\n");
        assertThat(new String(in, used, in.length - used, StandardCharsets.US_ASCII)).isEqualTo("QUIT\r\n");
    }

    /** Normalizing: every fake end of data is text (a "." line) or, with a bare CR, refused; only CRLF.CRLF ends. */
    @Test
    void smugglingVariantsNeverEndANormalizedMessage() {
        String[][] textCases = {
            {"a\r\n\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", "a\r\n\r\n.\r\nMAIL FROM:<x@y>\r\n"},   // <LF>.<CR><LF>
            {"a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n"},           // <CR><LF>.<LF>
            {"a\n.\nMAIL FROM:<x@y>\n.\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n.\r\n"},             // <LF>.<LF>, twice
            {"a\n.\r\n.\r\n", "a\r\n.\r\n"},                                                   // the real end after a fake one
        };
        for (String[] c : textCases) {
            text.reset();
            DataDecoder d = normalizing();
            byte[] in = b(c[0]);
            assertThat(d.feed(in, 0, in.length)).as(c[0]).isEqualTo(in.length);
            assertThat(d.outcome()).as(c[0]).containsInstanceOf(DataOutcome.Complete.class);
            assertThat(content()).as(c[0]).isEqualTo(c[1]);
        }
        for (String refused : new String[] {"a\r.\rMAIL FROM:<x@y>\r", "a\r\n.\rX", "a\n\r.\r\n", "bare cr\rinside\r\n.\r\n",
            "a\r.\n", "a\n.\rX", "a\r\r.\r\n", "a\r\n.\r\rX"}) {
            text.reset();
            DataDecoder d = normalizing();
            byte[] in = b(refused);
            d.feed(in, 0, in.length);
            assertThat(d.outcome()).as(refused).containsInstanceOf(DataOutcome.BareLineEnding.class);
        }
        // "." CR CR LF is no end marker: a line of text, and the real end after it ends the message
        text.reset();
        DataDecoder crcrlf = normalizing();
        byte[] dotCrCrLf = b("a\r\n.\r\r\nMAIL FROM:<x@y>\r\n.\r\n");
        assertThat(crcrlf.feed(dotCrCrLf, 0, dotCrCrLf.length)).isEqualTo(dotCrCrLf.length);
        assertThat(crcrlf.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo("a\r\n.\r\nMAIL FROM:<x@y>\r\n");
        text.reset();
        DataDecoder open = normalizing();
        byte[] unfinished = b("a\n.\nb\r\n.\n");
        open.feed(unfinished, 0, unfinished.length);
        assertThat(open.outcome()).as("no CRLF.CRLF yet").isEmpty();
    }

    /**
     * Line ends of CR CR LF (PHP's mail(), some mailers), which qmail's "552 bare CR" refused and real senders
     * complained of: normalized, one line end stored as CRLF, the CRs not counted in the line's length; a bare CR
     * elsewhere is still refused (in a header it would split a field that an upstream server read as one), and so is
     * an endless run of CRs.
     */
    @Test
    void normalizedCrCrLfIsOneLineEnd() {
        DataDecoder d = normalizing();
        byte[] in = b("Subject: x\r\r\nFrom: a@b.test\r\r\n\r\r\nbody\r\r\r\n..stuffed\r\r\n" + "y".repeat(998) + "\r\r\n.\r\n");
        assertThat(d.feed(in, 0, in.length)).isEqualTo(in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(content()).isEqualTo("Subject: x\r\nFrom: a@b.test\r\n\r\nbody\r\n.stuffed\r\n" + "y".repeat(998) + "\r\n");

        for (String refused : new String[] {"X-Foo: a\rFrom: ceo@bank.example\r\n\r\nhi\r\n.\r\n", "Subject: x\r\rbody\r\n.\r\n"}) {
            text.reset();
            DataDecoder bare = normalizing();
            byte[] b = b(refused);
            bare.feed(b, 0, b.length);
            assertThat(bare.outcome()).as(refused).containsInstanceOf(DataOutcome.BareLineEnding.class);
        }

        text.reset();
        DataDecoder crs = new DataDecoder(1 << 20, 100, Integer.MAX_VALUE, BareLf.NORMALIZE, text::write, DataDecoder.newStaging());
        byte[] run = b("x" + "\r".repeat(200) + "\n.\r\n");
        crs.feed(run, 0, run.length);
        assertThat(crs.outcome()).containsInstanceOf(DataOutcome.LineTooLong.class);
    }
}
