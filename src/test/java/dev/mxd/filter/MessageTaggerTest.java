package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MessageTaggerTest {

    static final List<FilterVerdict.Header> HEADERS = List.of(new FilterVerdict.Header("X-Spam-Status", "Yes, score=7.0 required=5.0"),
            new FilterVerdict.Header("X-Spam-Score", "7.0"));

    static String tag(String message, Optional<String> prefix) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MessageTagger.tag(new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8)), out, HEADERS, prefix);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void headersOnTopSubjectPrefixedBodyUntouched() throws Exception {
        assertThat(tag("From: a@x.test\r\nSubject: hello\r\n\r\nSubject: not a header\r\n", Optional.of("[SPAM] ")))
                .isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\n"
                        + "From: a@x.test\r\nSubject: [SPAM] hello\r\n\r\nSubject: not a header\r\n");
    }

    @Test
    void forgedSpamHeadersAndTheirContinuationsAreDropped() throws Exception {
        assertThat(tag("X-Spam-Status: No,\r\n\tscore=-100\r\nx-spam-score: -100\r\nTo: b@example.test\r\n\r\nbody\r\n", Optional.empty()))
                .isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\nTo: b@example.test\r\n\r\nbody\r\n");
    }

    @Test
    void missingSubjectIsAddedAndFoldedSubjectKeepsItsFold() throws Exception {
        assertThat(tag("From: a@x.test\r\n\r\nbody\r\n", Optional.of("[SPAM] ")))
                .endsWith("From: a@x.test\r\nSubject: [SPAM]\r\n\r\nbody\r\n");
        assertThat(tag("Subject: long\r\n subject\r\n\r\nb\r\n", Optional.of("[SPAM] ")))
                .endsWith("Subject: [SPAM] long\r\n subject\r\n\r\nb\r\n");
    }

    @Test
    void notTaggedTwiceAndOverlongLinesCopiedWhole() throws Exception {
        assertThat(tag("Subject: [SPAM] hi\r\n\r\n", Optional.of("[SPAM] "))).contains("Subject: [SPAM] hi\r\n");
        String longHeader = "X-Long: " + "a".repeat(10_000) + "\r\n";
        assertThat(tag(longHeader + "\r\nbody", Optional.empty())).endsWith(longHeader + "\r\nbody");
    }
}
