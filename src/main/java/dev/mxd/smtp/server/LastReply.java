package dev.mxd.smtp.server;

import dev.mxd.smtp.SmtpReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The server's last reply on a connection (421 and the like, 221 to QUIT), then the close. The
 * end of the stream (FIN) follows the reply before the socket is closed: when the client has
 * pipelined commands the server never read, closing the socket makes the kernel send a reset,
 * and a reset that overtakes what the client has not read yet can take the reply with it on some
 * systems. With the FIN first, the client reads the reply and then the end of the stream. Over
 * TLS, TLS's own end (close_notify) goes out before the FIN, so the session does not look cut off.
 */
final class LastReply {

    /**
     * How long the reply, close_notify and FIN may take before the connection is closed all the
     * same: a client that does not read (its window stays shut) would otherwise hold the socket for
     * ever, since a closing session's timers no longer run. Tests shorten it.
     */
    static volatile Duration deadline = Duration.ofSeconds(30);

    private LastReply() {}

    /** Writes {@code reply}, ends TLS if it is on, ends the stream, closes. Event loop only. */
    static void send(ChannelHandlerContext ctx, SmtpReply reply) {
        send(ctx, reply, () -> { });
    }

    /**
     * As {@link #send(ChannelHandlerContext, SmtpReply)}, running {@code written} once the reply is written to the socket.
     * Returns the write's future: done at once when the socket took the reply whole.
     */
    static io.netty.channel.ChannelFuture send(ChannelHandlerContext ctx, SmtpReply reply, Runnable written) {
        Channel ch = ctx.channel();
        ScheduledFuture<?> late = ctx.executor().schedule(() -> {
            ch.close();
        }, deadline.toMillis(), TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(closed -> late.cancel(false));
        return ctx.writeAndFlush(Unpooled.wrappedBuffer(reply.encode())).addListener(done -> {
            if (done.isSuccess()) {
                written.run();
            }
            if (!done.isSuccess() || !(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
                ch.close();
                return;
            }
            SslHandler tls = ch.pipeline().get(SslHandler.class);
            Future<?> tlsEnded = tls == null ? ch.newSucceededFuture() : tls.closeOutbound();
            tlsEnded.addListener(ended -> {
                if (ch.isActive()) {
                    duplex.shutdownOutput().addListener(finished -> ch.close());
                } else {
                    ch.close();
                }
            });
        });
    }
}
