package dev.mxd.filter;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.config.FiltersConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * ClamAV's clamd, over TCP or its unix socket, with the INSTREAM command (clamd(8), "zINSTREAM"):
 * the message goes in chunks, each a 4-byte big-endian length then that many bytes, ended by a
 * zero length; clamd answers one NUL-terminated line ("stream: OK", "stream: NAME FOUND",
 * "... ERROR"). The message is streamed from its source in 64 KiB chunks, never held in memory.
 *
 * <p>clamd stops reading at its StreamMaxLength ("INSTREAM size limit exceeded"); mxd does not
 * send a message larger than {@code streamMaxLength} at all, and both cases are
 * {@link EngineResult.TooLarge}, which the policy handles (filters.on-too-large).
 */
public final class ClamdClient implements ScanEngine {

    /** The size sent at most when the configuration sets none: {@link FiltersConfig.Clamd#DEFAULT_STREAM_MAX_LENGTH}. */
    public static final long DEFAULT_STREAM_MAX_LENGTH = FiltersConfig.Clamd.DEFAULT_STREAM_MAX_LENGTH;

    private static final int CHUNK = 64 * 1024;
    /** clamd replies are a line; a virus name is well under this. */
    private static final int MAX_REPLY = 4096;

    private final EngineAddress address;
    private final Duration timeout;
    private final long streamMaxLength;

    public ClamdClient(EngineAddress address, Duration timeout, long streamMaxLength) {
        if (streamMaxLength <= 0) {
            throw new IllegalArgumentException("clamd stream-max-length must be positive, not " + streamMaxLength);
        }
        this.address = address;
        this.timeout = timeout;
        this.streamMaxLength = streamMaxLength;
    }

    @Override
    public Engine engine() {
        return Engine.CLAMD;
    }

    @Override
    public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
        long size = message.size();
        if (size > streamMaxLength) {
            return new EngineResult.TooLarge(Engine.CLAMD, size, "over filters.clamd.stream-max-length " + streamMaxLength);
        }
        EngineConnection c;
        try {
            c = EngineConnection.open(address, timeout);
        } catch (EngineConnection.ConnectFailure e) {
            return EngineConnection.connectFailure(Engine.CLAMD, address, e);
        }
        try (c; InputStream text = message.open()) {
            IOException sendFailure = null;
            try {
                send(text, c.out());
            } catch (SendFailure e) {
                sendFailure = e.socketError;
            }
            // clamd answers, then closes, when it stops reading (size limit): read that answer
            String reply;
            try {
                reply = new String(EngineConnection.readUntil(c.in(), 0, MAX_REPLY), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                return EngineConnection.failure(Engine.CLAMD, address, c, timeout,
                        sendFailure != null ? "sending the message" : "reading the reply", sendFailure != null ? sendFailure : e);
            }
            if (reply.isEmpty() && sendFailure != null) {
                return EngineConnection.failure(Engine.CLAMD, address, c, timeout, "sending the message", sendFailure);
            }
            EngineResult result = parse(reply, size);
            if (sendFailure != null && result instanceof EngineResult.Clean) {
                // "OK" for a message it stopped reading: it did not scan the rest (clamd itself says "size limit
                // exceeded" there, which parse takes as too large); on-error decides, not a clean verdict
                return EngineConnection.failure(Engine.CLAMD, address, c, timeout, "sending the message (it answered OK before"
                        + " reading the whole message)", sendFailure);
            }
            return result;
        } catch (IOException e) {
            return EngineResult.Unavailable.messageUnreadable(Engine.CLAMD, e);
        }
    }

    /** A socket write failed: kept apart from failures reading the message file. */
    private static final class SendFailure extends IOException {
        final IOException socketError;

        SendFailure(IOException socketError) {
            super(socketError);
            this.socketError = socketError;
        }
    }

    private static void send(InputStream text, OutputStream out) throws IOException {
        byte[] buf = new byte[CHUNK + 4];
        try {
            out.write("zINSTREAM\0".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new SendFailure(e);
        }
        while (true) {
            int n = text.readNBytes(buf, 4, CHUNK);
            buf[0] = (byte) (n >>> 24);
            buf[1] = (byte) (n >>> 16);
            buf[2] = (byte) (n >>> 8);
            buf[3] = (byte) n;
            try {
                out.write(buf, 0, n + 4); // n == 0 is the terminating zero-length chunk
                if (n == 0) {
                    out.flush();
                    return;
                }
            } catch (IOException e) {
                throw new SendFailure(e);
            }
        }
    }

    /** clamd's answer to INSTREAM, as a result (the NUL already removed). */
    static EngineResult parse(String reply, long size) {
        String r = reply.strip();
        if (r.endsWith(" FOUND")) {
            String body = r.substring(0, r.length() - " FOUND".length());
            int colon = body.indexOf(": ");
            String virus = colon >= 0 ? body.substring(colon + 2).strip() : body.strip();
            if (!virus.isEmpty()) {
                return new EngineResult.Infected(Engine.CLAMD, virus);
            }
        }
        if (r.endsWith(": OK")) {
            return new EngineResult.Clean(Engine.CLAMD);
        }
        if (r.startsWith("INSTREAM size limit exceeded")) {
            return new EngineResult.TooLarge(Engine.CLAMD, size, "over clamd's StreamMaxLength (raise it in clamd.conf)");
        }
        if (r.endsWith(" ERROR")) {
            return new EngineResult.Unavailable(Engine.CLAMD, EngineResult.Reason.ENGINE_ERROR, "clamd answered '" + r + "'");
        }
        return new EngineResult.Unavailable(Engine.CLAMD, EngineResult.Reason.PROTOCOL_ERROR,
                "clamd answered '" + printable(r) + "', expected 'stream: OK', '... FOUND' or '... ERROR'");
    }

    /** zPING (clamd(8)): empty when clamd answers PONG, else why not. */
    @Override
    public Optional<EngineResult.Unavailable> ping() {
        return EngineConnection.ping(Engine.CLAMD, address, timeout, "zPING\0", 0, "PONG"::equals, "PONG");
    }

    /** Reply text for an error message: control bytes shown as '?', at most 200 characters. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 200; i++) {
            char ch = s.charAt(i);
            sb.append(ch < 0x20 || ch > 0x7e ? '?' : ch);
        }
        return s.length() > 200 ? sb + "..." : sb.toString();
    }

    @Override
    public String toString() {
        return "clamd at " + address;
    }
}
