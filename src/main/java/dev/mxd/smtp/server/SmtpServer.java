package dev.mxd.smtp.server;

import dev.mxd.config.HostPort;
import dev.mxd.config.MxdConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The receiving SMTP server: listeners, the pipeline of each connection, and a clean stop. */
public final class SmtpServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpServer.class);

    static final String TLS = "tls";
    static final String LIMITER = "limiter";
    static final String IDLE = "idle";
    static final String DECODER = "decoder";
    static final String SESSION = "session";

    /** Messages being committed (fsynced) at once. */
    private static final int STORE_THREADS = 64;

    private final MxdConfig config;
    private final Optional<SslContext> sslContext;
    private final RecipientPolicy policy;
    private final MessageStore store;
    private final ConnectionLimiter limiter;
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
    private final ExecutorService storeExecutor;
    private final ChannelGroup connections = new DefaultChannelGroup("smtp", GlobalEventExecutor.INSTANCE);
    private final List<Channel> listeners = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private SmtpServer(MxdConfig config, Optional<SslContext> sslContext, RecipientPolicy policy, MessageStore store) {
        this.config = config;
        this.sslContext = sslContext;
        this.policy = policy;
        this.store = store;
        this.limiter = new ConnectionLimiter(config.limits().maxConnections(), config.limits().maxConnectionsPerIp());
        // Commits wait on fsync, not on the CPU; the more of them at once, the more messages share
        // each directory fsync (Spool's group commit). 64 keeps 50 busy sessions from queueing.
        this.storeExecutor = Executors.newFixedThreadPool(STORE_THREADS, r -> {
            Thread t = new Thread(r, "mxd-store");
            t.setDaemon(true);
            return t;
        });
    }

    /** Binds every listener of the configuration; throws when one cannot be bound (nothing is left open then). */
    public static SmtpServer start(MxdConfig config, RecipientPolicy policy, MessageStore store) throws IOException {
        Optional<SslContext> ssl = Optional.empty();
        if (config.tls().isPresent()) {
            try {
                ssl = Optional.of(sslContext(config.tls().get()));
            } catch (SSLException | IllegalArgumentException e) {
                throw new IOException("cannot load the TLS certificate or key (" + config.tls().get().certificate() + ", "
                        + config.tls().get().privateKey() + "): " + e.getMessage(), e);
            }
        }
        SmtpServer server = new SmtpServer(config, ssl, policy, store);
        try {
            server.bind();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /**
     * TLS 1.3 and 1.2 only (RFC 8996 deprecated 1.0 and 1.1), and Netty's default suites (forward
     * secret AEAD first; no RC4, DES, 3DES, NULL, anonymous or export suites), without weak
     * suites even where a JVM's java.security was loosened. A suite a peer lacks is not an
     * argument for a weaker one here: senders fall back to plaintext only when no suite matches.
     */
    static SslContext sslContext(dev.mxd.config.Tls tls) throws SSLException {
        return SslContextBuilder.forServer(tls.certificate().toFile(), tls.privateKey().toFile())
                .protocols(TLS_PROTOCOLS)
                .ciphers(null, (ciphers, defaults, supported) -> defaults.stream()
                        .filter(c -> supported.contains(c) && !WEAK_SUITE.matcher(c).find()).toArray(String[]::new))
                .build();
    }

    /** The protocols STARTTLS speaks. */
    static final List<String> TLS_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** Suite names (JDK or OpenSSL spelling) that are never offered. */
    static final java.util.regex.Pattern WEAK_SUITE =
            java.util.regex.Pattern.compile("(?i)(RC4|_DES_|DES-CBC|3DES|DES_EDE|NULL|_anon_|ADH|AECDH|EXPORT|_MD5|-MD5)");

    private void bind() throws IOException {
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 256)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        pipeline(ch.pipeline());
                    }
                });
        for (HostPort hp : config.smtpListeners()) {
            try {
                listeners.add(b.bind(hp.socketAddress()).sync().channel());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while binding " + hp, e);
            } catch (Exception e) {
                throw new IOException("cannot listen on " + hp + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The data flow of one connection, in order: connection limits, (TLS, added by STARTTLS),
     * idle timeout, framing (commands / message text), the session.
     */
    private void pipeline(ChannelPipeline p) {
        p.addLast(LIMITER, limiter);
        p.addLast(IDLE, new IdleStateHandler(config.timeouts().command().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
        p.addLast(DECODER, new SmtpFrameDecoder(config.limits().maxLineLength(), config.limits().bareLf()));
        p.addLast(SESSION, new SmtpConnectionHandler(config.hostname(), config.limits(), config.timeouts(), sslContext,
                policy, store, storeExecutor));
    }

    /** The addresses actually bound (port 0 in the config becomes a real port here). */
    public List<InetSocketAddress> addresses() {
        return listeners.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    /** Whether every listener is bound and open (for /health). */
    public boolean listening() {
        return !closed.get() && !listeners.isEmpty() && listeners.stream().allMatch(Channel::isActive);
    }

    /** Connections open now. */
    public int openConnections() {
        return limiter.open();
    }

    /**
     * Stops: no new connections; messages being stored finish and get their reply; then every
     * session gets 421 4.3.2 (RFC 5321 §3.8) and is closed.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (Channel l : listeners) {
            l.close().syncUninterruptibly();
        }
        for (Channel c : connections) {
            c.eventLoop().execute(() -> {
                SmtpConnectionHandler h = c.pipeline().get(SmtpConnectionHandler.class);
                if (h != null) {
                    h.shutdown(c.pipeline().context(h));
                }
            });
        }
        storeExecutor.shutdown();
        try {
            if (!storeExecutor.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("messages still being stored after 60 s; stopping anyway (they were not acknowledged)");
            }
            connections.close().await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
