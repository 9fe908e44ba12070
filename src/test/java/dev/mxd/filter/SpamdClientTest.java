package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.testing.ScriptedServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The SPAMC/1.5 request and spamd's responses, on bytes and against scripted fakes. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class SpamdClientTest {

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static EngineResult.Unavailable unavailable(EngineResult r) {
        assertThat(r).isInstanceOf(EngineResult.Unavailable.class);
        return (EngineResult.Unavailable) r;
    }

    @Test
    void requestHasExactContentLengthAndUser() {
        assertThat(new String(SpamdClient.request(1234, "mxd"), StandardCharsets.US_ASCII))
                .isEqualTo("SYMBOLS SPAMC/1.5\r\nContent-length: 1234\r\nUser: mxd\r\n\r\n");
    }

    @Test
    void symbolsResponseGivesScoreThresholdAndRules() {
        String body = "GTUBE,MISSING_DATE,NO_RECEIVED";
        EngineResult r = SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\nContent-length: " + body.length()
                + "\r\nSpam: True ; 1003.7 / 5.0\r\n\r\n" + body));
        assertThat(r).isEqualTo(new EngineResult.Scored(Engine.SPAMD, 1003.7, 5.0, true,
                List.of("GTUBE", "MISSING_DATE", "NO_RECEIVED"), Optional.empty()));
    }

    @Test
    void checkResponseWithoutBodyAndNegativeScore() {
        EngineResult r = SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.3 / 5.0\r\n\r\n"));
        assertThat(r).isEqualTo(new EngineResult.Scored(Engine.SPAMD, -0.3, 5.0, false, List.of(), Optional.empty()));
    }

    @Test
    void nonZeroExitCodeIsEngineError() {
        EngineResult.Unavailable u = unavailable(SpamdClient.parseResponse(ascii("SPAMD/1.0 76 Bad header line: x\r\n\r\n")));
        assertThat(u.reason()).isEqualTo(EngineResult.Reason.ENGINE_ERROR);
        assertThat(u.detail()).isEqualTo("spamd answered 'SPAMD/1.0 76 Bad header line: x'");
    }

    @Test
    void malformedResponsesAreProtocolErrors() {
        assertThat(unavailable(SpamdClient.parseResponse(ascii("HTTP/1.1 200 OK\r\n\r\n"))).detail()).contains("status line");
        assertThat(unavailable(SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\n\r\n"))).detail()).contains("no 'Spam:' header");
        assertThat(unavailable(SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\nSpam: maybe\r\n\r\n"))).detail())
                .contains("expected 'Spam: True ; 1003.7 / 5.0'");
        assertThat(unavailable(SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1"))).detail())
                .contains("closed in the middle");
        assertThat(unavailable(SpamdClient.parseResponse(ascii("SPAMD/1.1 0 EX_OK\r\n" + "x".repeat(9000) + "\r\n"))).detail())
                .contains("longer than 8192");
    }

    @Test
    void messageFollowsTheHeadAndTheAnswerIsRead() throws Exception {
        byte[] text = ascii("Subject: hi\r\n\r\nbody\r\n");
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            ScriptedServer.readAll(in, 10_000);
            return ascii("SPAMD/1.1 0 EX_OK\r\nContent-length: 4\r\nSpam: False ; 1.5 / 5.0\r\n\r\nX_UP");
        })) {
            EngineResult r = new SpamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(5), "mxd")
                    .scan(MessageSource.of(text), ClamdClientTest.ENVELOPE);
            assertThat(r).isEqualTo(new EngineResult.Scored(Engine.SPAMD, 1.5, 5.0, false, List.of("X_UP"), Optional.empty()));
            assertThat(new String(fake.received(), StandardCharsets.US_ASCII))
                    .isEqualTo("SYMBOLS SPAMC/1.5\r\nContent-length: " + text.length + "\r\nUser: mxd\r\n\r\nSubject: hi\r\n\r\nbody\r\n");
        }
    }

    /** A "not spam" from a spamd that stopped reading after the start of the message judged part of it: no verdict. */
    @Test
    void anAnswerBeforeTheWholeMessageWasReadIsNoVerdict() throws Exception {
        byte[] text = new byte[16 << 20];
        java.util.Arrays.fill(text, (byte) 'a');
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            in.readNBytes(10);
            return ascii("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
        })) {
            EngineResult r = new SpamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(10), "mxd", 32 << 20)
                    .scan(MessageSource.of(text), ClamdClientTest.ENVELOPE);
            assertThat(unavailable(r).reason()).isEqualTo(EngineResult.Reason.PROTOCOL_ERROR);
        }
    }

    @Test
    void stalledSpamdIsTimeout() throws Exception {
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            ScriptedServer.readAll(in, 10_000);
            return null;
        })) {
            EngineResult r = new SpamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofMillis(300), "mxd")
                    .scan(MessageSource.of(ascii("x\r\n")), ClamdClientTest.ENVELOPE);
            assertThat(unavailable(r).reason()).isEqualTo(EngineResult.Reason.TIMEOUT);
        }
    }

    /** Over max-size: not sent (nothing listens at the address), passed on as too large, as spamc does. */
    @Test
    void aMessageOverMaxSizeIsTooLargeWithoutConnecting() {
        EngineResult r = new SpamdClient(EngineAddress.parse("127.0.0.1:1"), Duration.ofSeconds(1), "mxd", 10)
                .scan(MessageSource.of(new byte[11]), ScanEnvelope.of("Q1", "a@x.test", java.util.List.of("b@example.test")));
        assertThat(r).isEqualTo(new EngineResult.TooLarge(Engine.SPAMD, 11, "over filters.spamd.max-size 10"));
        EngineResult rs = new RspamdClient(java.net.URI.create("http://127.0.0.1:1"), Duration.ofSeconds(1), 10)
                .scan(MessageSource.of(new byte[11]), ScanEnvelope.of("Q1", "a@x.test", java.util.List.of("b@example.test")));
        assertThat(rs).isEqualTo(new EngineResult.TooLarge(Engine.RSPAMD, 11, "over filters.rspamd.max-size 10"));
    }
}
