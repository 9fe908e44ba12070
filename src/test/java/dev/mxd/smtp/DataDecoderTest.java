package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DataDecoderTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static DataDecoder decoder() {
        return new DataDecoder(1 << 20, 1000);
    }

    @Test
    void endsAtCrLfDotCrLfAndLeavesTheRest() {
        DataDecoder d = decoder();
        byte[] in = b("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
        int used = d.feed(in, 0, in.length);
        assertThat(new String(in, used, in.length - used, StandardCharsets.US_ASCII)).isEqualTo("QUIT\r\n");
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.Complete.class);
        assertThat(new String(((DataOutcome.Complete) d.outcome().get()).content(), StandardCharsets.US_ASCII))
                .isEqualTo("Subject: x\r\n\r\nhello\r\n");
    }

    @Test
    void emptyMessage() {
        DataDecoder d = decoder();
        assertThat(d.feed(b(".\r\n"), 0, 3)).isEqualTo(3);
        assertThat(((DataOutcome.Complete) d.outcome().get()).content()).isEmpty();
    }

    @Test
    void dotUnstuffing() {
        DataDecoder d = decoder();
        byte[] in = b("..leading dot\r\n...\r\n.x\r\n.\r\n");
        d.feed(in, 0, in.length);
        assertThat(new String(((DataOutcome.Complete) d.outcome().get()).content(), StandardCharsets.US_ASCII))
                .isEqualTo(".leading dot\r\n..\r\nx\r\n");
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
        assertThat(new String(((DataOutcome.Complete) d.outcome().get()).content(), StandardCharsets.US_ASCII))
                .isEqualTo("a\r\n.b\r\n\r\n");
    }

    @Test
    void eightBitBytesPassUnchanged() {
        DataDecoder d = decoder();
        byte[] in = {(byte) 0xe9, (byte) 0xff, (byte) 0x80, '\r', '\n', '.', '\r', '\n'};
        d.feed(in, 0, in.length);
        assertThat(((DataOutcome.Complete) d.outcome().get()).content()).containsExactly((byte) 0xe9, (byte) 0xff, (byte) 0x80, (byte) 13, (byte) 10);
    }

    private static DataOutcome outcomeOf(String text) {
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
        DataDecoder d = new DataDecoder(10, 1000);
        byte[] in = b("0123456789abcdef\r\n.\r\n");
        assertThat(d.feed(in, 0, in.length)).isEqualTo(in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.TooBig.class);
    }

    @Test
    void lineLengthIsBounded() {
        DataDecoder d = new DataDecoder(1 << 20, 1000);
        byte[] in = b("x".repeat(999) + "\r\n.\r\n");
        d.feed(in, 0, in.length);
        assertThat(d.outcome()).containsInstanceOf(DataOutcome.LineTooLong.class);
        DataDecoder ok = new DataDecoder(1 << 20, 1000);
        byte[] fits = b("x".repeat(998) + "\r\n.\r\n");
        ok.feed(fits, 0, fits.length);
        assertThat(ok.outcome()).containsInstanceOf(DataOutcome.Complete.class);
    }
}
