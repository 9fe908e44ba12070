package dev.mxd.smtp.server;

import dev.mxd.smtp.BareLf;
import dev.mxd.smtp.DataDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts the byte stream into SMTP frames: command lines, or message text up to CRLF.CRLF.
 * It emits one frame per call so that the handler can switch it (to DATA, to paused while a
 * message is stored, to discarding after STARTTLS) before the next byte is looked at: that
 * ordering is what makes pipelining safe and STARTTLS injection impossible.
 */
final class SmtpFrameDecoder extends ByteToMessageDecoder {

    private enum Mode { BEFORE_GREETING, COMMANDS, DATA, CLOSED }

    private static final int CHUNK = 64 * 1024;
    // Message text is copied through this buffer on its way to the DATA decoder, which takes it whole
    // before returning: one per event-loop thread serves all its connections (not 64 KB a connection).
    private static final io.netty.util.concurrent.FastThreadLocal<byte[]> CHUNKS = new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[CHUNK];
        }
    };

    private final int maxLineLength;
    private final BareLf bareLf;
    private Mode mode = Mode.BEFORE_GREETING;
    private boolean paused;
    private boolean skippingLongLine;
    private DataDecoder data;
    private ChannelHandlerContext ctx;

    SmtpFrameDecoder(int maxLineLength, BareLf bareLf) {
        this.maxLineLength = maxLineLength;
        this.bareLf = bareLf;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    /** The greeting is complete: from now on bytes are commands. */
    void greeted() {
        if (mode == Mode.BEFORE_GREETING) {
            mode = Mode.COMMANDS;
        }
    }

    void startData(DataDecoder decoder) {
        data = decoder;
        mode = Mode.DATA;
    }

    /** Drops everything received so far (RFC 3207 §4.2: nothing sent in plaintext before the handshake counts). */
    void discardBuffered() {
        ByteBuf buffered = internalBuffer();
        buffered.skipBytes(buffered.readableBytes());
    }

    /** Whether bytes wait behind the frame being handled (sent in the same write as it, or before its reply). */
    boolean hasBuffered() {
        return internalBuffer().isReadable();
    }

    /** No more frames: the connection is being closed. */
    void close() {
        mode = Mode.CLOSED;
    }

    void pause() {
        paused = true;
    }

    /** Continues with bytes that arrived while paused (pipelined commands after DATA). Event loop only. */
    void resume() throws Exception {
        paused = false;
        channelRead(ctx, Unpooled.EMPTY_BUFFER);
    }

    /** Continues with buffered bytes once the client has read its replies (see {@link #decode}). Event loop only. */
    void writable() throws Exception {
        if (!paused) {
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
            ctx.flush();
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (mode == Mode.CLOSED) {
            in.skipBytes(in.readableBytes());
            return;
        }
        // A client that pipelines commands and never reads the replies would otherwise make mxd queue
        // replies without end: no further command is taken while the replies wait (the handler has
        // stopped reading too), so what one connection holds is bounded by the write buffer.
        if (paused || mode == Mode.COMMANDS && !ctx.channel().isWritable()) {
            return;
        }
        switch (mode) {
            case BEFORE_GREETING -> {
                if (in.isReadable()) {
                    in.skipBytes(in.readableBytes());
                    mode = Mode.CLOSED;
                    out.add(new Frame.TalkedEarly());
                }
            }
            case COMMANDS -> commandLine(in, out);
            case DATA -> dataText(in, out);
            default -> in.skipBytes(in.readableBytes());
        }
    }

    private void commandLine(ByteBuf in, List<Object> out) {
        int lf = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
        if (skippingLongLine) {
            if (lf < 0) {
                in.skipBytes(in.readableBytes());
            } else {
                in.readerIndex(lf + 1);
                skippingLongLine = false;
                out.add(new Frame.CommandTooLong());
            }
            return;
        }
        if (lf < 0) {
            if (in.readableBytes() > maxLineLength) {
                skippingLongLine = true; // RFC 5321 §4.5.3.1.4; answered once the line ends, to stay in step
                in.skipBytes(in.readableBytes());
            }
            return;
        }
        int length = lf - in.readerIndex() + 1;
        if (length > maxLineLength) {
            in.readerIndex(lf + 1);
            out.add(new Frame.CommandTooLong());
            return;
        }
        // RFC 5321 §2.3.8: CRLF ends a command. A bare LF does too when normalized (as Postfix does with
        // smtpd_forbid_bare_newline = normalize); a CR anywhere else in the line is refused in either mode.
        boolean crlf = length >= 2 && in.getByte(lf - 1) == '\r';
        int textEnd = crlf ? lf - 1 : lf;
        if (!crlf && bareLf == BareLf.REJECT || in.indexOf(in.readerIndex(), textEnd, (byte) '\r') >= 0) {
            in.skipBytes(in.readableBytes());
            mode = Mode.CLOSED;
            out.add(new Frame.BareLineEnding());
            return;
        }
        byte[] line = new byte[textEnd - in.readerIndex()];
        in.readBytes(line);
        in.skipBytes(crlf ? 2 : 1);
        out.add(new Frame.CommandLine(line));
    }

    private void dataText(ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), CHUNK);
        byte[] chunk = CHUNKS.get();
        in.getBytes(in.readerIndex(), chunk, 0, n);
        in.skipBytes(data.feed(chunk, 0, n));
        data.outcome().ifPresent(o -> {
            data = null;
            mode = o instanceof dev.mxd.smtp.DataOutcome.BareLineEnding ? Mode.CLOSED : Mode.COMMANDS;
            out.add(new Frame.DataEnd(o));
        });
    }
}
