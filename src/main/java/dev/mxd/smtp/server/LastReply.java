package dev.mxd.smtp.server;

import dev.mxd.smtp.SmtpReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;

/**
 * The server's last reply on a connection (421 and the like), then the close. The end of the
 * stream (FIN) follows the reply before the socket is closed: when the client has pipelined
 * commands the server never read, closing the socket makes the kernel send a reset, and a reset
 * that overtakes what the client has not read yet can take the reply with it on some systems.
 * With the FIN first, the client reads the reply and then the end of the stream.
 */
final class LastReply {

    private LastReply() {}

    /** Writes {@code reply}, ends the stream, closes. Event loop only. */
    static void send(ChannelHandlerContext ctx, SmtpReply reply) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(reply.encode())).addListener(written -> {
            Channel ch = ctx.channel();
            if (written.isSuccess() && ch instanceof DuplexChannel duplex && ch.isActive()) {
                duplex.shutdownOutput().addListener(ended -> ch.close());
            } else {
                ch.close();
            }
        });
    }
}
