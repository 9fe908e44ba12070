package dev.mxd.smtp.server;

import dev.mxd.config.HostPort;
import dev.mxd.config.MxdConfig;
import dev.mxd.config.Tls;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RecipientPolicy;
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
import io.netty.util.NettyRuntime;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
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
    /** Replaced by {@link #replaceCertificate}; a connection keeps the one it started with. */
    private volatile Optional<SslContext> sslContext;
    /** The STARTTLS certificate offered to new connections, and what is wrong with it though usable; for /health. */
    private volatile TlsOffer tlsOffer;
    private final RecipientPolicy policy;
    private final MessageStore store;
    private final ClientNameLookup names;
    private final ConnectionLimiter limiter;
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(eventLoops(), NioIoHandler.newFactory());
    private final ExecutorService storeExecutor;
    private final ChannelGroup connections = new DefaultChannelGroup("smtp", GlobalEventExecutor.INSTANCE);
    private final List<Channel> listeners = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile RejectionListener rejections = RejectionListener.NONE;

    /**
     * Event-loop threads: one per processor ({@code -Dio.netty.availableProcessors} if set), unless
     * {@code -Dio.netty.eventLoopThreads} says otherwise. Netty's default is two per processor; the loops do not
     * wait for the disk or the network (stores, DNS questions and filters run on threads of their own), so more
     * loops than cores only add sleeps and wake-ups (docs/performance.md, "Fewer threads woken a message").
     */
    static int eventLoops() {
        return Math.max(1, Integer.getInteger("io.netty.eventLoopThreads", NettyRuntime.availableProcessors()));
    }

    /** The certificate file STARTTLS presents (empty: STARTTLS is off) and the certificate read from it. */
    public record TlsOffer(Optional<java.nio.file.Path> certificate, Optional<X509Certificate> presented) {

        static TlsOffer of(Optional<Tls> tls, Optional<ServerCertificate.Loaded> loaded) {
            return new TlsOffer(tls.map(Tls::certificate), loaded.map(ServerCertificate.Loaded::certificate));
        }

        /**
         * What is wrong with the certificate at {@code now} though it is usable (expired, not yet valid, an RSA key under
         * 2048 bits): asked at each look, since a certificate expires while mxd runs (read at start or reload only,
         * /health said nothing of one that had expired since).
         */
        public List<String> warnings(Instant now) {
            return certificate.isPresent() && presented.isPresent()
                    ? ServerCertificate.warnings(certificate.get(), presented.get(), now) : List.of();
        }
    }

    private SmtpServer(MxdConfig config, Optional<SslContext> sslContext, TlsOffer tlsOffer, RecipientPolicy policy,
                       MessageStore store, ClientNameLookup names) {
        this.config = config;
        this.names = names;
        this.sslContext = sslContext;
        this.tlsOffer = tlsOffer;
        this.policy = policy;
        this.store = store;
        this.limiter = new ConnectionLimiter(config.limits(), config.timeouts().commandUnderPressure(),
                (stage, code) -> rejections.rejected(stage, code));
        // Commits wait on fsync, not on the CPU; the more of them at once, the more messages share
        // each directory fsync (Spool's group commit). Up to 64 keeps 50 busy sessions from queueing;
        // threads are started as commits overlap, not all 64 up front.
        this.storeExecutor = dev.mxd.mail.WorkerPool.start("mxd-store", STORE_THREADS);
    }

    /**
     * Binds every listener of the configuration; throws when one cannot be bound (nothing is left
     * open then), or {@link ServerCertificate.UnusableException} when the TLS certificate or key
     * cannot be used (STARTTLS is never offered with a handshake that always fails).
     */
    public static SmtpServer start(MxdConfig config, RecipientPolicy policy, MessageStore store) throws IOException {
        return start(config, policy, store, ClientNameLookup.NONE);
    }

    /**
     * Longest wait for a client's name before the greeting goes out anyway, the client then
     * {@code unknown}: Postfix's reverse lookups are bounded by the resolver's timeouts; 5 s keeps
     * a slow DNS from holding clients long.
     */
    public static final java.time.Duration CLIENT_NAME_WAIT = java.time.Duration.ofSeconds(5);

    /** As {@link #start(MxdConfig, RecipientPolicy, MessageStore)}, each client named by {@code names} before its greeting. */
    public static SmtpServer start(MxdConfig config, RecipientPolicy policy, MessageStore store, ClientNameLookup names)
            throws IOException {
        Optional<ServerCertificate.Loaded> loaded = loadCertificate(config.tls());
        SmtpServer server = new SmtpServer(config, loaded.map(ServerCertificate.Loaded::context),
                TlsOffer.of(config.tls(), loaded), policy, store, names);
        try {
            server.bind();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private static Optional<ServerCertificate.Loaded> loadCertificate(Optional<Tls> tls) throws ServerCertificate.UnusableException {
        if (tls.isEmpty()) {
            return Optional.empty();
        }
        ServerCertificate.Loading loading = ServerCertificate.load(tls.get(), Instant.now());
        if (loading instanceof ServerCertificate.Refused r) {
            throw new ServerCertificate.UnusableException(r);
        }
        ServerCertificate.Loaded loaded = (ServerCertificate.Loaded) loading;
        loaded.warnings().forEach(w -> LOG.warn("TLS: {}", w));
        return Optional.of(loaded);
    }

    /**
     * Reads the certificate and key again (a renewed certificate, at SIGHUP) and offers them to
     * connections opened from now on; open connections keep theirs. Empty {@code tls} turns STARTTLS
     * off for new connections. When they cannot be used the ones in use stay, and this throws.
     */
    public void replaceCertificate(Optional<Tls> tls) throws ServerCertificate.UnusableException {
        Optional<ServerCertificate.Loaded> loaded = loadCertificate(tls);
        sslContext = loaded.map(ServerCertificate.Loaded::context);
        tlsOffer = TlsOffer.of(tls, loaded);
    }

    /**
     * TLS 1.3 and 1.2 only (RFC 8996 deprecated 1.0 and 1.1), and of the suites the TLS engine supports
     * only the forward-secret AEAD ones ({@link #OFFERED_SUITE}), whatever a JVM's
     * java.security allows. A suite a peer lacks is not an argument for a weaker one here: senders
     * fall back to plaintext only when no suite matches.
     */
    static SslContext sslContext(PrivateKey key, List<X509Certificate> chain) throws SSLException {
        return SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
                .protocols(TLS_PROTOCOLS)
                .ciphers(null, (ciphers, defaults, supported) -> supported.stream()
                        .filter(c -> OFFERED_SUITE.matcher(c).matches()).toArray(String[]::new))
                .build();
    }

    /** The protocols STARTTLS speaks. */
    static final List<String> TLS_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * The suites STARTTLS may offer (JDK or OpenSSL spelling): TLS 1.3's (all AEAD, all forward
     * secret), and for TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305 only (RFC 7525 §4.2): no CBC
     * (Lucky13 and padding oracles), no static RSA key exchange (no forward secrecy, ROBOT), no
     * finite-field DHE (weak or slow groups).
     */
    static final java.util.regex.Pattern OFFERED_SUITE = java.util.regex.Pattern.compile(
            "TLS_AES_(128|256)_GCM_SHA(256|384)|TLS_CHACHA20_POLY1305_SHA256"
                    + "|TLS_ECDHE_(RSA|ECDSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)"
                    + "|ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)");

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
                Optional<Channel> covering = coveringWildcard(hp);
                if (covering.isPresent()) {
                    LOG.info("listening on {} through {}: one socket takes IPv4 and IPv6 here ({} was not bound apart: {})",
                            hp, covering.get().localAddress(), hp, e.getMessage());
                    continue;
                }
                throw new IOException("cannot listen on " + hp + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * A listener bound already that takes {@code hp}'s connections too, when {@code hp} is a
     * wildcard address: {@code 0.0.0.0:25} and {@code [::]:25} together (as in a Postfix habit,
     * or a packaged example) are one dual-stack socket on a host with IPv6, whose second bind
     * fails with "Address already in use"; on a host without IPv6 the other family's wildcard
     * cannot be bound, and the one that was takes what this host can receive.
     */
    private Optional<Channel> coveringWildcard(HostPort hp) {
        if (!hp.address().isAnyLocalAddress()) {
            return Optional.empty();
        }
        return listeners.stream().filter(l -> l.localAddress() instanceof java.net.InetSocketAddress a
                && a.getAddress().isAnyLocalAddress() && a.getPort() == hp.port()).findFirst();
    }

    /**
     * The data flow of one connection, in order: (TLS, added by STARTTLS), connection limits,
     * idle timeout of message text (none between commands: the session times commands itself),
     * framing (commands / message text), the session.
     */
    private void pipeline(ChannelPipeline p) {
        p.addLast(LIMITER, limiter);
        p.addLast(IDLE, noIdleTimer());
        p.addLast(DECODER, new SmtpFrameDecoder(config.limits().maxLineLength(), config.limits().bareLf()));
        p.addLast(SESSION, new SmtpConnectionHandler(config.hostname(), config.limits(), config.timeouts(), sslContext,
                policy, store, storeExecutor, (stage, code) -> rejections.rejected(stage, code), names));
    }

    /** From now on, every refusal the server sends (4xx or 5xx) is also told to {@code listener} (metrics). */
    public void countRejections(RejectionListener listener) {
        rejections = listener;
    }

    /** The place of the message text's idle timer, while no message text is being received. */
    static IdleStateHandler noIdleTimer() {
        return new IdleStateHandler(0, 0, 0);
    }

    /** The addresses actually bound (port 0 in the config becomes a real port here). */
    public List<InetSocketAddress> addresses() {
        return listeners.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    /** Whether every listener is bound and open (for /health). */
    public boolean listening() {
        return !closed.get() && !listeners.isEmpty() && listeners.stream().allMatch(Channel::isActive);
    }

    /** The STARTTLS certificate offered now (the last reload's, else the start's) and its warnings. */
    public TlsOffer tlsOffer() {
        return tlsOffer;
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
