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
        assertThatThrownBy(() -> reader("22\r\n").read()).isInstanceOf(MalformedReplyException.class)
                .hasMessageContaining("shorter");
    }

    /** The middle digit is not checked, as Postfix reads it: a server's 571 is a permanent refusal, not garbage. */
    @Test
    void anyMiddleDigitIsTaken() throws IOException {
        assertThat(reader("571 5.7.1 blocked\r\n").read().code()).isEqualTo(571);
        assertThat(reader("260 odd\r\n").read().positive()).isTrue();
    }

    @Test
    void wrongSeparatorAfterCodeIsMalformed() {
        assertThatThrownBy(() -> reader("250x hello\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("' ' or '-'");
    }

    /**
     * A code that changes inside a reply is refused: a text line that happens to start "500 " inside
     * a 450 would otherwise end the reply there, and every later pipelined reply would answer the
     * wrong command.
     */
    @Test
    void codeChangingInsideAReplyIsMalformed() {
        assertThatThrownBy(() -> reader("250-first\r\n251 second\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("from 250 to 251");
        assertThatThrownBy(() -> reader("450-4.7.1 rate limited:\r\n500 messages per hour allowed\r\n450 4.7.1 later\r\n").read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("from 450 to 500");
    }

    /** The reply to a final dot takes its last line's code, as Postfix; only that one reply, and it says it was mixed. */
    @Test
    void aFinalReplyTakesItsLastLinesCodeOnce() throws IOException {
        SmtpReplyReader r = reader("250-2.0.0 ok\r\n550 5.0.0 but no\r\n250 plain\r\n250-a\r\n251 b\r\n");
        SmtpReply mixed = r.readFinal();
        assertThat(mixed.code()).isEqualTo(550);
        assertThat(mixed.enhancedStatus()).map(Object::toString).hasValue("5.0.0");
        assertThat(mixed.summary()).isEqualTo("550 5.0.0 but no");
        assertThat(r.mixedFrom()).hasValue(250);
        assertThat(r.readFinal().code()).isEqualTo(250);
        assertThat(r.mixedFrom()).isEmpty();
        assertThatThrownBy(r::read).isInstanceOf(MalformedReplyException.class).hasMessageContaining("from 250 to 251");
    }

    /** Inside a reply, as real servers send them: an empty line and a line without a code are more text. */
    @Test
    void oddLinesInsideAReplyAreTaken() throws IOException {
        SmtpReply odd = reader("550-5.7.1 refused\r\n\r\nsee http://example.test/why\r\n550 5.7.1 end\r\n").read();
        assertThat(odd.code()).isEqualTo(550);
        assertThat(odd.lines()).containsExactly("5.7.1 refused", "", "see http://example.test/why", "5.7.1 end");
        SmtpReplyReader r = reader("250-a\r\nnot a code\r\n250 b\r\n354 go on\r\n");
        assertThat(r.read().code()).isEqualTo(250);
        assertThat(r.read().code()).isEqualTo(354); // the next reply is still read in step
    }

    /** A line longer than the limit is cut there and the rest skipped, as Postfix does; the reply is still read. */
    @Test
    void aLongLineIsCutNotRefused() throws IOException {
        String longest = "250 " + "a".repeat(SmtpReplyParser.MAX_LINE_BYTES - 6) + "\r\n";
        assertThat(longest.length()).isEqualTo(SmtpReplyParser.MAX_LINE_BYTES);
        assertThat(reader(longest).read().firstLine()).hasSize(SmtpReplyParser.MAX_LINE_BYTES - 6);

        SmtpReplyReader r = reader("550 " + "a".repeat(5000) + "\r\n250 next\r\n");
        SmtpReply cut = r.read();
        assertThat(cut.code()).isEqualTo(550);
        assertThat(cut.firstLine()).hasSize(SmtpReplyParser.MAX_LINE_BYTES - 5); // the line's first 999 octets, "550 " and 995
        assertThat(r.read().firstLine()).isEqualTo("next");
    }

    /** Many long lines are one runaway reply: refused past 2 MB in all, whatever each line's length. */
    @Test
    void aReplyOfManyLongLinesStopsAtItsTotalLimit() {
        String line = "250-" + "y".repeat(SmtpReplyReader.MAX_SKIPPED - 10) + "\r\n";
        byte[] wire = (line.repeat(3) + "250 end\r\n").getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> reader(wire).read()).isInstanceOf(MalformedReplyException.class).hasMessageContaining("octets");
        assertThatThrownBy(() -> reader(wire).readFinal()).isInstanceOf(MalformedReplyException.class);
    }

    @Test
    void endlessLineStopsAtTheSkipLimitWithoutReadingItAll() {
        byte[] huge = ("220 " + "x".repeat(3 * SmtpReplyReader.MAX_SKIPPED)).getBytes(StandardCharsets.US_ASCII);
        ByteArrayInputStream in = new ByteArrayInputStream(huge);
        assertThatThrownBy(() -> new SmtpReplyReader(in).read()).isInstanceOf(MalformedReplyException.class);
        assertThat(in.available()).isGreaterThan(huge.length - SmtpReplyReader.MAX_SKIPPED - 10);
    }

    /** A long banner keeps its first lines' text; a reply past the line limit is a runaway peer. */
    @Test
    void manyLinesAreReadAndARunawayIsMalformed() throws IOException {
        StringBuilder many = new StringBuilder();
        for (int i = 1; i < 300; i++) {
            many.append("220-line").append(i).append("\r\n");
        }
        assertThat(reader(many + "220 last\r\n").read().lines()).hasSize(SmtpReplyParser.MAX_LINES);
        String runaway = "220-x\r\n".repeat(SmtpReplyParser.MAX_TOTAL_LINES + 1) + "220 last\r\n";
        assertThatThrownBy(() -> reader(runaway).read())
                .isInstanceOf(MalformedReplyException.class).hasMessageContaining("more than " + SmtpReplyParser.MAX_TOTAL_LINES + " lines");
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
