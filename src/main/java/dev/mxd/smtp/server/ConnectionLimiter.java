package dev.mxd.smtp.server;

import dev.mxd.smtp.Replies;
import dev.mxd.smtp.ServerReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds connections in total and per client address. An excess connection gets 421 4.7.0
 * instead of a greeting (RFC 5321 §3.1) and is closed; nothing it sends is read.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

    private static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("mxd.counted");

    private final int maxTotal;
    private final int maxPerAddress;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();

    ConnectionLimiter(int maxTotal, int maxPerAddress) {
        this.maxTotal = maxTotal;
        this.maxPerAddress = maxPerAddress;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetAddress client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        int all = total.incrementAndGet();
        int mine = perAddress.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
        ctx.channel().attr(COUNTED).set(true);
        if (all > maxTotal) {
            refuse(ctx, Replies.TOO_MANY_CONNECTIONS);
        } else if (mine > maxPerAddress) {
            refuse(ctx, Replies.TOO_MANY_CONNECTIONS_FROM_YOU);
        } else {
            ctx.fireChannelActive();
        }
    }

    private static void refuse(ChannelHandlerContext ctx, ServerReply reply) {
        ctx.channel().attr(COUNTED).set(true);
        ctx.channel().config().setAutoRead(false);
        ctx.pipeline().remove(SmtpServer.DECODER);
        ctx.writeAndFlush(Unpooled.wrappedBuffer(reply.encode())).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ctx.pipeline().get(SmtpServer.DECODER) == null) {
            ReferenceCountUtil.release(msg); // a refused connection: nothing it says is read
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (Boolean.TRUE.equals(ctx.channel().attr(COUNTED).getAndSet(false))) {
            total.decrementAndGet();
            InetAddress client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
            perAddress.computeIfPresent(client, (k, n) -> n.decrementAndGet() == 0 ? null : n);
        }
        ctx.fireChannelInactive();
    }

    int open() {
        return total.get();
    }
}
