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

    /**
     * A registered connection counted by {@code limiter}, whose writes the network takes only when {@link #deliverWrites} is
     * called (a reply on its way, as over a real socket), its greeting pending.
     */
    static EmbeddedClient limitedBy(ConnectionLimiter limiter, SmtpConnectionHandler session) throws Exception {
        EmbeddedClient ch = new EmbeddedClient();
        ch.pipeline().addLast("network", ch.network);
        ch.pipeline().addLast(SmtpServer.LIMITER, limiter);
        ch.pipeline().addLast(SmtpServer.DECODER, new SmtpFrameDecoder(Limits.DEFAULTS.maxLineLength(), Limits.DEFAULTS.bareLf()));
        ch.pipeline().addLast(SmtpServer.SESSION, session);
        ch.register();
        return ch;
    }

    private final SlowNetwork network = new SlowNetwork();

    /** Holds every write's completion until the test lets the network take them. */
    private static final class SlowNetwork extends io.netty.channel.ChannelOutboundHandlerAdapter {
        private final java.util.List<Runnable> held = new java.util.ArrayList<>();

        @Override
        public void write(io.netty.channel.ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
            io.netty.channel.ChannelPromise later = ctx.newPromise();
            ctx.write(msg, later);
            held.add(() -> later.addListener(f -> {
                if (f.isSuccess()) {
                    promise.trySuccess();
                } else {
                    promise.tryFailure(f.cause());
                }
            }));
        }
    }

    /** Completes the writes held so far (their listeners run: a last reply's close follows). */
    void deliverWrites() {
        java.util.List<Runnable> now = new java.util.ArrayList<>(network.held);
        network.held.clear();
        now.forEach(Runnable::run);
        runPendingTasks();
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
