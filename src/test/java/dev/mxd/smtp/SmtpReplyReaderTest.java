package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmtpReplyReaderTest {

    private static SmtpReplyReader reader(String wire) {
        return reader(wire.getBytes(StandardCharsets.UTF_8));
    }

    private static SmtpReplyReader reader(byte[] wire) {
        return new SmtpReplyReader(new ByteArrayInputStream(wire));
    }

    @Test
    void singleLineReply() throws IOException {
        SmtpReply r = reader("220 mx1.example.test ESMTP Postfix\r\n").read();
        assertThat(r.code()).isEqualTo(220);
        assertThat(r.lines()).containsExactly("mx1.example.test ESMTP Postfix");
        assertThat(r.enhancedStatus()).isEmpty();
        assertThat(r.positive()).isTrue();
    }

    @Test
    void multiLineReplyKeepsEveryLineInOrder() throws IOException {
        SmtpReply r = reader("250-mx1.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n").read();
        assertThat(r.code()).isEqualTo(250);
        assertThat(r.lines()).containsExactly("mx1.example.test", "PIPELINING", "SIZE 10240000", "8BITMIME");
        assertThat(r.toWire()).isEqualTo("250-mx1.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME");
    }

    @Test
    void consecutiveRepliesAreReadOneAtATime() throws IOException {
        SmtpReplyReader in = reader("220 hi\r\n250-a\r\n250 b\r\n221 bye\r\n");
        assertThat(in.read().code()).isEqualTo(220);
        assertThat(in.read().lines()).containsExactly("a", "b");
        assertThat(in.read().code()).isEqualTo(221);
    }

    @Test
    void codeAloneAndEmptyFinalLineAreReplies() throws IOException {
        // RFC 5321 §4.2: the text is optional; smtp-sink ends its EHLO reply with "250 ".
        SmtpReplyReader in = reader("354\r\n250-x\r\n250 \r\n");
        assertThat(in.read().lines()).containsExactly("");
        assertThat(in.read().lines()).containsExactly("x", "");
    }

    @Test
    void bareLineFeedIsAccepted() throws IOException {
        assertThat(reader("220 lenient\n").read().lines()).containsExactly("lenient");
    }

    @Test
    void enhancedStatusIsParsedWhenItsClassMatchesTheCode() throws IOException {
        SmtpReply r = reader("550-5.1.1 <bob@example.test>: Recipient address rejected\r\n550 5.1.1 User unknown\r\n").read();
        assertThat(r.enhancedStatus()).hasValue(new EnhancedStatus(5, 1, 1));
        assertThat(r.enhancedStatus().get().toString()).isEqualTo("5.1.1");
        assertThat(r.permanentFailure()).isTrue();

        assertThat(reader("451 4.3.0 try later\r\n").read().enhancedStatus()).hasValue(new EnhancedStatus(4, 3, 0));
        assertThat(reader("250 2.0.0 Ok: queued\r\n").read().enhancedStatus().map(EnhancedStatus::toString)).hasValue("2.0.0");
    }

    @Test
    void enhancedStatusOfAnotherClassOrMalformedIsJustText() throws IOException {
        assertThat(reader("550 2.1.1 odd\r\n").read().enhancedStatus()).isEmpty();
        assertThat(reader("250 2.0 short\r\n").read().enhancedStatus()).isEmpty();
        assertThat(reader("250 2.0.0000 long\r\n").read().enhancedStatus()).isEmpty();
        assertThat(reader("220 1.2.3.4 is my address\r\n").read().enhancedStatus()).isEmpty();
    }

    @Test
    void textIsDecodedAsUtf8() throws IOException {
        assertThat(reader("220 smtp.例え.test ready\r\n").read().firstLine()).isEqualTo("smtp.例え.test ready");
    }

    @Test
    void nonDigitCodeIsMalformed() {
        assertThatThrownBy(() -> reader("2x0 hello\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("three-digit code");
        assertThatThrownBy(() -> reader("SSH-2.0-OpenSSH_9.2\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("SSH-2.0");
    }

    @Test
    void codeOutsideSmtpRangeIsMalformed() {
        assertThatThrownBy(() -> reader("150 preliminary\r\n").read()).isInstanceOf(MalformedReplyException.class)
                .hasMessageContaining("150");
        assertThatThrownBy(() -> reader("260 bad second digit\r\n").read()).isInstanceOf(MalformedReplyException.class);
        assertThatThrownBy(() -> reader("22\r\n").read()).isInstanceOf(MalformedReplyException.class)
                .hasMessageContaining("shorter");
    }

    @Test
    void wrongSeparatorAfterCodeIsMalformed() {
        assertThatThrownBy(() -> reader("250x hello\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("' ' or '-'");
    }

    @Test
    void codeChangingInsideAReplyIsMalformed() {
        assertThatThrownBy(() -> reader("250-first\r\n251 second\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("from 250 to 251");
    }

    @Test
    void lineOfExactlyTheLimitIsAcceptedAndOneMoreByteIsNot() throws IOException {
        String longest = "250 " + "a".repeat(SmtpReplyParser.MAX_LINE_BYTES - 6) + "\r\n";
        assertThat(longest.length()).isEqualTo(SmtpReplyParser.MAX_LINE_BYTES);
        assertThat(reader(longest).read().firstLine()).hasSize(SmtpReplyParser.MAX_LINE_BYTES - 6);

        String tooLong = "250 " + "a".repeat(SmtpReplyParser.MAX_LINE_BYTES - 5) + "\r\n";
        assertThatThrownBy(() -> reader(tooLong).read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("longer than 1000 bytes");
    }

    @Test
    void endlessLineStopsAtTheLimitWithoutReadingItAll() {
        byte[] huge = ("220 " + "x".repeat(1_000_000)).getBytes(StandardCharsets.US_ASCII);
        ByteArrayInputStream in = new ByteArrayInputStream(huge);
        assertThatThrownBy(() -> new SmtpReplyReader(in).read()).isInstanceOf(MalformedReplyException.class);
        assertThat(in.available()).isGreaterThan(huge.length - 2 * SmtpReplyParser.MAX_LINE_BYTES);
    }

    @Test
    void tooManyLinesIsMalformed() throws IOException {
        StringBuilder ok = new StringBuilder();
        for (int i = 1; i < SmtpReplyParser.MAX_LINES; i++) {
            ok.append("250-line").append(i).append("\r\n");
        }
        assertThat(reader(ok + "250 last\r\n").read().lines()).hasSize(SmtpReplyParser.MAX_LINES);
        assertThatThrownBy(() -> reader(ok + "250-one too many\r\n250 last\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("more than 100 lines");
    }

    @Test
    void missingFinalLineIsEndOfStream() {
        assertThatThrownBy(() -> reader("250-mx1.example.test\r\n250-PIPELINING\r\n").read())
                .isInstanceOf(EOFException.class).hasMessageContaining("middle of a reply (after 2 complete lines)");
        assertThatThrownBy(() -> reader("250 no line end").read())
                .isInstanceOf(EOFException.class).hasMessageContaining("middle of a reply");
        assertThatThrownBy(() -> reader("").read())
                .isInstanceOf(EOFException.class).hasMessageContaining("before it replied");
    }

    @Test
    void parserIsReusableAfterAReplyAndReportsProgress() throws IOException {
        SmtpReplyParser p = new SmtpReplyParser();
        assertThat(p.line("250-a".getBytes(StandardCharsets.US_ASCII))).isEmpty();
        assertThat(p.inProgress()).isTrue();
        assertThat(p.line("250 b".getBytes(StandardCharsets.US_ASCII))).map(SmtpReply::lines).hasValue(List.of("a", "b"));
        assertThat(p.inProgress()).isFalse();
        assertThat(p.line("221 bye".getBytes(StandardCharsets.US_ASCII))).map(SmtpReply::code).hasValue(221);
    }

    @Test
    void replyValueRejectsImpossibleCodes() {
        assertThatThrownBy(() -> SmtpReply.of(600, List.of("x"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SmtpReply.of(250, List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThat(SmtpReply.of(421, List.of("4.3.2 shutting down")).summary()).isEqualTo("421 4.3.2 shutting down");
    }
}
