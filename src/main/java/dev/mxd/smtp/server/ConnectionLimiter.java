package dev.mxd.smtp.server;

import dev.mxd.config.Limits;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds connections in total, per client (an IPv4 address, an IPv6 /84) and per client network
 * (an IPv4 /24, an IPv6 /64: one host rarely has more). When a bound is reached, the session that
 * has been idle longest within it (no command completed; message text counted at 500 octets a
 * second, see {@link SessionActivity}) is closed with 421 4.4.2
 * to make room, provided it has been idle for {@code timeouts.command-under-pressure}; otherwise
 * the newcomer gets 421 4.7.0 instead of a greeting (RFC 5321 §3.1) and is closed, and nothing
 * it sends is read. Also feeds each session's {@link SessionActivity} with the bytes it reads.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimiter.class);

    /** One admitted connection. */
    private record Client(Channel channel, InetAddress address, InetAddress network, SessionActivity activity) {}

    /** A bound, the clients it counts (how many are open now), and the reply a newcomer gets when no one can make room. */
    private record Bound(int max, int open, Predicate<Client> within, SmtpReply refusal) {}

    private final Limits limits;
    private final long shedAfterNanos;
    private final Map<Channel, Client> open = new HashMap<>(); // guarded by this
    private final Map<InetAddress, Integer> perAddress = new HashMap<>(); // guarded by this
    private final Map<InetAddress, Integer> perNetwork = new HashMap<>(); // guarded by this
    private volatile int total;
    private final RejectionListener rejections;

    ConnectionLimiter(Limits limits, Duration shedAfter, RejectionListener rejections) {
        this.rejections = rejections;
        this.limits = limits;
        this.shedAfterNanos = shedAfter.toNanos();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        InetAddress address = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        Client client = new Client(ch, clientKey(address), network(address), new SessionActivity());
        ch.attr(SessionActivity.KEY).set(client.activity());
        List<Client> shed = new ArrayList<>();
        Optional<SmtpReply> refusal = admit(client, shed);
        for (Client idle : shed) {
            LOG.info("{}: idle {} ms while the connection limits are reached; closed to make room for {}",
                    idle.channel().remoteAddress(), idle.activity().idleNanos(System.nanoTime()) / 1_000_000, address);
            idle.channel().eventLoop().execute(() -> {
                SmtpConnectionHandler h = idle.channel().pipeline().get(SmtpConnectionHandler.class);
                if (h != null) {
                    h.shed(idle.channel().pipeline().context(h));
                } else {
                    idle.channel().close();
                }
            });
        }
        if (refusal.isPresent()) {
            refuse(ctx, refusal.get());
        } else {
            ctx.fireChannelActive();
        }
    }

    /**
     * Counts {@code client} in, after choosing (into {@code shed}) the idlest session of each bound
     * that is full, narrowest bound first; or the refusal when a full bound has no session idle enough.
     */
    private synchronized Optional<SmtpReply> admit(Client client, List<Client> shed) {
        int fromAddress = perAddress.getOrDefault(client.address(), 0);
        int fromNetwork = perNetwork.getOrDefault(client.network(), 0);
        if (fromAddress < limits.maxConnectionsPerIp() && fromNetwork < limits.maxConnectionsPerNetwork()
                && open.size() < limits.maxConnections()) {
            count(client); // every bound has room: the usual case, without weighing whom to shed
            return Optional.empty();
        }
        List<Bound> bounds = List.of(
                new Bound(limits.maxConnectionsPerIp(), fromAddress,
                        c -> c.address().equals(client.address()), Replies.TOO_MANY_CONNECTIONS_FROM_YOU),
                new Bound(limits.maxConnectionsPerNetwork(), fromNetwork,
                        c -> c.network().equals(client.network()), Replies.TOO_MANY_CONNECTIONS_FROM_YOUR_NETWORK),
                new Bound(limits.maxConnections(), open.size(), c -> true, Replies.TOO_MANY_CONNECTIONS));
        long now = System.nanoTime();
        for (Bound b : bounds) {
            long inside = b.open() - shed.stream().filter(b.within()).count();
            if (inside < b.max()) {
                continue;
            }
            Optional<Client> idlest = open.values().stream()
                    .filter(b.within())
                    .filter(c -> !shed.contains(c) && !c.activity().storing() && c.activity().idleNanos(now) >= shedAfterNanos)
                    .max((x, y) -> Long.compare(x.activity().idleNanos(now), y.activity().idleNanos(now)));
            if (idlest.isEmpty()) {
                shed.clear();
                return Optional.of(b.refusal());
            }
            shed.add(idlest.get());
        }
        for (Client c : shed) {
            release(c.channel());
        }
        count(client);
        return Optional.empty();
    }

    private synchronized void count(Client client) {
        open.put(client.channel(), client);
        perAddress.merge(client.address(), 1, Integer::sum);
        perNetwork.merge(client.network(), 1, Integer::sum);
        total = open.size();
    }

    private synchronized void release(Channel ch) {
        Client c = open.remove(ch);
        if (c != null) {
            perAddress.computeIfPresent(c.address(), (k, n) -> n == 1 ? null : n - 1);
            perNetwork.computeIfPresent(c.network(), (k, n) -> n == 1 ? null : n - 1);
            total = open.size();
        }
    }

    /**
     * What counts as one client for limits.max-connections-per-ip: its IPv4 address, or the /84 its IPv6 address lies in,
     * as Postfix (3.8 on) counts IPv6 clients (smtpd_client_ipv6_prefix_length): one host is given a /64 and can take a
     * new address of it for each connection.
     */
    static InetAddress clientKey(InetAddress address) {
        return address.getAddress().length == 4 ? address : prefix(address, 84);
    }

    /** The client's network: its IPv4 /24 or IPv6 /64. */
    static InetAddress network(InetAddress address) {
        return prefix(address, address.getAddress().length == 4 ? 24 : 64);
    }

    private static InetAddress prefix(InetAddress address, int bits) {
        return new dev.mxd.config.Cidr(address, bits).base();
    }

    private void refuse(ChannelHandlerContext ctx, SmtpReply reply) {
        new SessionLog((InetSocketAddress) ctx.channel().remoteAddress(), rejections)
                .rejected("connect", reply, Optional.empty(), Optional.empty(), false, Optional.empty());
        ctx.channel().config().setAutoRead(false);
        ctx.pipeline().remove(SmtpServer.DECODER);
        LastReply.send(ctx, reply);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ctx.pipeline().get(SmtpServer.DECODER) == null) {
            ReferenceCountUtil.release(msg); // a refused connection: nothing it says is read
            return;
        }
        if (msg instanceof ByteBuf b && b.isReadable()) {
            SessionActivity activity = ctx.channel().attr(SessionActivity.KEY).get();
            if (activity != null) {
                activity.bytesRead(b.readableBytes());
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * The session sent its last reply (221 to QUIT, a 421) with nothing ahead of it waiting to be written, or that reply
     * is written: it no longer counts against the limits, though its socket closes only after the end of the stream. A
     * sender that reconnects at once after its 221, as one at its concurrency limit does, was refused 421 for a session
     * that was already over. Not while replies wait to be written: a client that stops reading would hold sockets that
     * no limit counts. Idempotent.
     */
    void lastReply(Channel ch) {
        release(ch);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release(ctx.channel());
        ctx.fireChannelInactive();
    }

    int open() {
        return total;
    }
}
