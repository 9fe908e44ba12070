package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.testing.ScriptedServer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** clamd's INSTREAM framing and replies, on bytes and against scripted fakes. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ClamdClientTest {

    static final ScanEnvelope ENVELOPE = ScanEnvelope.of("Q1", "a@x.test", List.of("b@example.test"));

    @Test
    void okIsClean() {
        assertThat(ClamdClient.parse("stream: OK", 10)).isEqualTo(new EngineResult.Clean(Engine.CLAMD));
    }

    @Test
    void foundGivesTheVirusName() {
        assertThat(ClamdClient.parse("stream: Local.EICAR.UNOFFICIAL FOUND", 10))
                .isEqualTo(new EngineResult.Infected(Engine.CLAMD, "Local.EICAR.UNOFFICIAL"));
    }

    @Test
    void sizeLimitIsTooLargeNotAnError() {
        assertThat(ClamdClient.parse("INSTREAM size limit exceeded. ERROR", 99)).isInstanceOf(EngineResult.TooLarge.class)
                .extracting(r -> ((EngineResult.TooLarge) r).size()).isEqualTo(99L);
    }

    @Test
    void errorIsEngineError() {
        assertThat(ClamdClient.parse("stream: Can't allocate memory ERROR", 10)).isEqualTo(new EngineResult.Unavailable(
                Engine.CLAMD, EngineResult.Reason.ENGINE_ERROR, "clamd answered 'stream: Can't allocate memory ERROR'"));
    }

    @Test
    void anythingElseIsProtocolError() {
        EngineResult r = ClamdClient.parse("HELLO\u0001", 10);
        assertThat(r).isInstanceOf(EngineResult.Unavailable.class);
        assertThat(((EngineResult.Unavailable) r).reason()).isEqualTo(EngineResult.Reason.PROTOCOL_ERROR);
        assertThat(((EngineResult.Unavailable) r).detail()).contains("'HELLO?'");
    }

    /** Reads one INSTREAM request the way clamd does and returns the reassembled message. */
    static byte[] readInstream(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        byte[] command = d.readNBytes("zINSTREAM\0".length());
        assertThat(new String(command, StandardCharsets.US_ASCII)).isEqualTo("zINSTREAM\0");
        java.io.ByteArrayOutputStream message = new java.io.ByteArrayOutputStream();
        for (int chunks = 0; chunks < 10_000; chunks++) {
            int n = d.readInt();
            if (n == 0) {
                return message.toByteArray();
            }
            message.write(d.readNBytes(n));
        }
        throw new IOException("no terminating chunk");
    }

    @Test
    void messageIsSentInLengthPrefixedChunksEndedByZero() throws Exception {
        byte[] text = new byte[200_000]; // over three 64 KiB chunks
        Arrays.fill(text, (byte) 'a');
        byte[][] seen = new byte[1][];
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            seen[0] = readInstream(in);
            return "stream: OK\0".getBytes(StandardCharsets.US_ASCII);
        })) {
            EngineResult r = new ClamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(5), 1_000_000)
                    .scan(MessageSource.of(text), ENVELOPE);
            assertThat(r).isEqualTo(new EngineResult.Clean(Engine.CLAMD));
            assertThat(seen[0]).isEqualTo(text);
            ByteBuffer wire = ByteBuffer.wrap(fake.received());
            wire.position("zINSTREAM\0".length());
            assertThat(wire.getInt()).isEqualTo(64 * 1024);
        }
    }

    @Test
    void messageOverTheCapIsTooLargeWithoutConnecting() {
        EngineResult r = new ClamdClient(EngineAddress.parse("127.0.0.1:1"), Duration.ofSeconds(1), 10)
                .scan(MessageSource.of(new byte[11]), ENVELOPE);
        assertThat(r).isEqualTo(new EngineResult.TooLarge(Engine.CLAMD, 11, "over filters.clamd.stream-max-length 10"));
    }

    @Test
    void stalledClamdIsTimeout() throws Exception {
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            readInstream(in);
            return null;
        })) {
            long start = System.nanoTime();
            EngineResult r = new ClamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofMillis(300), 1_000_000)
                    .scan(MessageSource.of("hello\r\n".getBytes(StandardCharsets.US_ASCII)), ENVELOPE);
            assertThat(r).isInstanceOf(EngineResult.Unavailable.class);
            assertThat(((EngineResult.Unavailable) r).reason()).isEqualTo(EngineResult.Reason.TIMEOUT);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void closedWithoutReplyIsProtocolError() throws Exception {
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            readInstream(in);
            return new byte[0];
        })) {
            EngineResult r = new ClamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(5), 1_000_000)
                    .scan(MessageSource.of("hello\r\n".getBytes(StandardCharsets.US_ASCII)), ENVELOPE);
            assertThat(r).isInstanceOf(EngineResult.Unavailable.class);
            assertThat(((EngineResult.Unavailable) r).reason()).isEqualTo(EngineResult.Reason.PROTOCOL_ERROR);
        }
    }

    /**
     * An engine that answers "OK" after reading only the start of the message, then stops reading (broken, hostile, or
     * something in between): the rest was never scanned, so on-error decides, not a clean verdict. It was taken as clean.
     */
    @Test
    void anOkBeforeTheWholeMessageWasReadIsNoVerdict() throws Exception {
        byte[] text = new byte[16 << 20];
        Arrays.fill(text, (byte) 'a');
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            in.readNBytes(10);
            return "stream: OK\0".getBytes(StandardCharsets.US_ASCII);
        })) {
            EngineResult r = new ClamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(10), 32 << 20)
                    .scan(MessageSource.of(text), ENVELOPE);
            assertThat(r).isInstanceOfSatisfying(EngineResult.Unavailable.class,
                    u -> assertThat(u.reason()).isEqualTo(EngineResult.Reason.PROTOCOL_ERROR));
        }
    }

    @Test
    void refusedPortIsRefused() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        EngineResult r = new ClamdClient(EngineAddress.parse("127.0.0.1:" + port), Duration.ofSeconds(2), 1_000_000)
                .scan(MessageSource.of(new byte[1]), ENVELOPE);
        assertThat(((EngineResult.Unavailable) r).reason()).isEqualTo(EngineResult.Reason.REFUSED);
        assertThat(((EngineResult.Unavailable) r).detail()).contains("cannot connect to 127.0.0.1:" + port).contains("is clamd running");
    }

    @Test
    void missingUnixSocketIsRefused() {
        EngineResult r = new ClamdClient(EngineAddress.parse("unix:/nonexistent/clamd.ctl"), Duration.ofSeconds(2), 1_000_000)
                .scan(MessageSource.of(new byte[1]), ENVELOPE);
        assertThat(((EngineResult.Unavailable) r).reason()).isEqualTo(EngineResult.Reason.REFUSED);
    }

    @Test
    void pingExpectsPong() throws Exception {
        try (ScriptedServer fake = ScriptedServer.start(in -> {
            in.readNBytes("zPING\0".length());
            return "PONG\0".getBytes(StandardCharsets.US_ASCII);
        })) {
            assertThat(new ClamdClient(EngineAddress.parse(fake.hostPort()), Duration.ofSeconds(2), 10).ping()).isEmpty();
        }
    }
}
