package dev.mxd.smtp.server;

import dev.mxd.config.Limits;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * An SMTP server connection in an EmbeddedChannel: the server's pipeline (no idle timer) around
 * {@code session}, and a client with an Internet address, as the session wants one. The test runs
 * the event loop's tasks itself.
 */
final class EmbeddedClient extends EmbeddedChannel {

    private EmbeddedClient() {
        super(false, false);
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return new InetSocketAddress("127.0.0.1", 40000);
    }

    /** A registered connection whose pipeline ends in {@code session}; its greeting is pending. */
    static EmbeddedClient connectedTo(SmtpConnectionHandler session) throws Exception {
        EmbeddedClient ch = new EmbeddedClient();
        Limits limits = Limits.DEFAULTS;
        ch.pipeline().addLast(SmtpServer.IDLE, SmtpServer.noIdleTimer());
        ch.pipeline().addLast(SmtpServer.DECODER, new SmtpFrameDecoder(limits.maxLineLength(), limits.bareLf()));
        ch.pipeline().addLast(SmtpServer.SESSION, session);
        ch.register();
        return ch;
    }

    /**
     * A registered connection whose session never started: the connection limiter refused it and so did not pass
     * its start on (its 421 is on the way out; nothing else may be written).
     */
    static EmbeddedClient refusedBefore(SmtpConnectionHandler session) throws Exception {
        EmbeddedClient ch = new EmbeddedClient();
        ch.pipeline().addLast("refusing", new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(io.netty.channel.ChannelHandlerContext ctx) {
                // as ConnectionLimiter.refuse: the session behind is not told of the connection
            }
        });
        ch.pipeline().addLast(SmtpServer.DECODER, new SmtpFrameDecoder(Limits.DEFAULTS.maxLineLength(), Limits.DEFAULTS.bareLf()));
        ch.pipeline().addLast(SmtpServer.SESSION, session);
        ch.register();
        return ch;
    }

    /** What the server wrote since the last call. */
    String written() {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = readOutbound()) != null; b.release()) {
            out.append(b.toString(StandardCharsets.US_ASCII));
        }
        return out.toString();
    }
}
