package dev.mxd.dns.server;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded authoritative DNS server: one UDP socket and one TCP listener on the same address
 * and port (for a wildcard address, a UDP socket on each address of this host), answering from
 * zones held in memory. Start it with {@link #start}, read the bound
 * port from {@link #address()}, stop it with {@link #close()}.
 *
 * <p>UDP queries are answered on the receiving thread: a lookup in memory is faster than handing
 * the packet to another thread. TCP connections (RFC 7766) each get a thread from a fixed pool;
 * a connection carries any number of length-framed queries, is closed when idle, and a connection
 * beyond the limit is closed at once. UDP answers may be rate-limited per client network
 * ({@link ResponseRateLimit}); TCP answers never are, since a TCP client cannot spoof its address.
 */
public final class DnsServer implements AutoCloseable {

    /**
     * Bounds that keep one client from exhausting the server.
     *
     * @param maxRequestBytes   the largest query accepted (UDP buffer; a longer TCP frame closes the connection)
     * @param maxTcpConnections TCP connections served at once; a quarter of them (at least one) from one client network
     *                          (an IPv4 /24, an IPv6 /56);
     *                          when all are taken, a newcomer takes the place of the connection waiting longest for its
     *                          next query (RFC 7766 §6.2.3 lets a server close idle connections), else it is closed
     * @param tcpIdleTimeout    a TCP connection silent this long is closed (RFC 7766 §6.2.3)
     * @param rateLimit         response-rate limiting of UDP answers per client network (TCP is never limited)
     */
    public record Limits(int maxRequestBytes, int maxTcpConnections, Duration tcpIdleTimeout, ResponseRateLimit rateLimit) {
        public Limits {
            if (maxRequestBytes < 512 || maxRequestBytes > 65_535) {
                throw new IllegalArgumentException("maxRequestBytes must be 512 to 65535, not " + maxRequestBytes);
            }
            if (maxTcpConnections < 1) {
                throw new IllegalArgumentException("maxTcpConnections must be at least 1, not " + maxTcpConnections);
            }
            if (tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
                throw new IllegalArgumentException("tcpIdleTimeout must be positive, not " + tcpIdleTimeout);
            }
        }

        /** Without response-rate limiting. */
        public Limits(int maxRequestBytes, int maxTcpConnections, Duration tcpIdleTimeout) {
            this(maxRequestBytes, maxTcpConnections, tcpIdleTimeout, ResponseRateLimit.OFF);
        }

        /**
         * 4 KiB queries (ample: a query is one question plus EDNS), 64 TCP connections, 10 s idle,
         * no rate limit: a server embedded in tests and the demo answers its own queries at any
         * rate. {@code mxd dns} adds {@link ResponseRateLimit#DEFAULT} unless told otherwise.
         */
        public static Limits defaults() {
            return new Limits(4096, 64, Duration.ofSeconds(10));
        }

        public Limits withRateLimit(ResponseRateLimit rateLimit) {
            return new Limits(maxRequestBytes, maxTcpConnections, tcpIdleTimeout, rateLimit);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
    /** Tries to find a port free for both UDP and TCP when the caller asks for port 0. */
    private static final int BIND_ATTEMPTS = 20;

    private final QueryResponder responder;
    private final Limits limits;
    private final ResponseRateLimiter rateLimiter;
    /** All of one network's UDP answers together, at {@link #NETWORK_RATE_FACTOR} times the rate (BIND's all-per-second). */
    private final ResponseRateLimiter networkLimiter;
    /** How many kinds of answer one network may be sent at the full rate at once before all its answers are limited. */
    static final int NETWORK_RATE_FACTOR = 8;
    private final ThrottledWarning limitedAnswers = new ThrottledWarning(log);
    private final ThrottledWarning udpErrors = new ThrottledWarning(log);
    /** One socket per address: a wildcard listen is served by a socket on each of this host's addresses. */
    private final List<DatagramSocket> udp;
    private final ServerSocket tcp;
    private final InetSocketAddress address;

    // TCP connections: a slot each, the threads serving them, the sockets to close on stop
    private final Semaphore connectionSlots;
    private final ExecutorService connectionThreads;
    /** Open TCP connections, each with when it began waiting for its next query (BUSY while one is answered, EVICTED once closed to make room). */
    private final java.util.Map<Socket, java.util.concurrent.atomic.AtomicLong> openConnections = new ConcurrentHashMap<>();

    // lifecycle
    private final List<Thread> udpThreads;
    private final Thread acceptThread;
    /** Closes a TCP connection whose query or answer takes longer than {@link #ioTimeout} to cross (slow readers and writers). */
    private final java.util.concurrent.ScheduledExecutorService watchdog;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closing;

    private DnsServer(QueryResponder responder, Limits limits, List<DatagramSocket> udp, ServerSocket tcp) {
        this.responder = responder;
        this.limits = limits;
        this.rateLimiter = new ResponseRateLimiter(limits.rateLimit(), System::nanoTime);
        this.networkLimiter = new ResponseRateLimiter(limits.rateLimit().enabled()
                ? new ResponseRateLimit(Math.min(1_000_000, limits.rateLimit().answersPerSecond() * NETWORK_RATE_FACTOR), limits.rateLimit().slip())
                : ResponseRateLimit.OFF, System::nanoTime);
        this.udp = List.copyOf(udp);
        this.tcp = tcp;
        this.address = new InetSocketAddress(tcp.getInetAddress(), tcp.getLocalPort());
        this.connectionSlots = new Semaphore(limits.maxTcpConnections());
        AtomicInteger n = new AtomicInteger();
        this.connectionThreads = Executors.newFixedThreadPool(limits.maxTcpConnections(),
                r -> daemon(r, "mxd-dns-tcp-" + n.incrementAndGet()));
        this.udpThreads = this.udp.stream().map(u -> daemon(() -> receiveUdp(u), "mxd-dns-udp-" + u.getLocalAddress().getHostAddress()))
                .toList();
        this.acceptThread = daemon(this::acceptTcp, "mxd-dns-tcp-accept");
        java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                r -> daemon(r, "mxd-dns-tcp-watchdog"));
        timer.setRemoveOnCancelPolicy(true); // a task per query and answer: cancelled ones must not pile up for 2 s
        this.watchdog = timer;
    }

    /**
     * How long one query may take to arrive once its length has, and one answer to be taken by the
     * client (Knot's tcp-io-timeout): a client that sends a byte every few seconds, or stops reading
     * its answers, would otherwise hold a connection slot for ever (the idle timeout only counts time
     * between reads, and a write has none). 2 s, or the idle timeout when that is shorter.
     */
    private long ioTimeoutMillis() {
        return Math.min(2_000, limits.tcpIdleTimeout().toMillis());
    }

    /** Closes {@code connection} unless the returned task is cancelled within {@link #ioTimeoutMillis}. */
    private java.util.concurrent.ScheduledFuture<?> closeUnlessDone(Socket connection, String what) throws IOException {
        try {
            return watchdog.schedule(() -> {
                log.debug("TCP from {}: {} took over {} ms; closing", connection.getRemoteSocketAddress(), what, ioTimeoutMillis());
                release(connection);
            }, ioTimeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            throw new IOException("the server is stopping", stopping);
        }
    }

    /**
     * Answers from {@code next} from now on, for {@code mxd dns} at SIGHUP; queries already being
     * answered finish from the zones they started with.
     */
    public void replaceZones(Zones next) {
        responder.replaceZones(next);
    }

    /** The zones served now. */
    public Zones zones() {
        return responder.zones();
    }

    /** Binds UDP and TCP on {@code listen} (port 0: a port free for both) and starts answering. */
    public static DnsServer start(Zones zones, InetSocketAddress listen, Limits limits) throws IOException {
        if (listen.isUnresolved()) {
            throw new IOException("cannot listen on " + listen.getHostString() + ": not an address of this host");
        }
        if (listen.getAddress().isAnyLocalAddress()) {
            return startOnEveryAddress(zones, listen, limits);
        }
        for (int attempt = 1; ; attempt++) {
            DatagramSocket udp = bindUdp(listen);
            ServerSocket tcp = new ServerSocket();
            try {
                tcp.setReuseAddress(true);
                tcp.bind(new InetSocketAddress(listen.getAddress(), udp.getLocalPort()));
            } catch (IOException e) {
                udp.close();
                tcp.close();
                if (listen.getPort() == 0 && e instanceof BindException && attempt < BIND_ATTEMPTS) {
                    continue; // UDP's free port is taken for TCP: try another
                }
                throw new IOException("cannot listen on " + describe(listen.getAddress(), udp.getLocalPort())
                        + " (TCP): " + e.getMessage() + "; is another server using that port?", e);
            }
            return started(zones, limits, List.of(udp), tcp);
        }
    }

    private static DnsServer started(Zones zones, Limits limits, List<DatagramSocket> udp, ServerSocket tcp) {
        DnsServer server = new DnsServer(new QueryResponder(zones), limits, udp, tcp);
        server.udpThreads.forEach(Thread::start);
        server.acceptThread.start();
        return server;
    }

    /**
     * A wildcard listen (0.0.0.0, [::]): TCP on the wildcard address, UDP on each address of this
     * host's interfaces (IPv4 ones for 0.0.0.0, all for [::]). RFC 2181 §4.1 wants a UDP answer to
     * come from the address the query went to; a wildcard socket cannot tell which one that was in
     * Java, so the kernel picked the source, and a resolver that asked a secondary address dropped
     * the answer as coming from an unexpected source. As BIND does, one socket per address;
     * addresses added after the start are served over UDP after the next start.
     */
    private static DnsServer startOnEveryAddress(Zones zones, InetSocketAddress listen, Limits limits) throws IOException {
        List<InetAddress> addresses = new ArrayList<>();
        for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!n.isUp()) {
                continue;
            }
            for (InetAddress a : Collections.list(n.getInetAddresses())) {
                if (listen.getAddress() instanceof Inet4Address && !(a instanceof Inet4Address)) {
                    continue;
                }
                addresses.add(a);
            }
        }
        if (addresses.isEmpty()) {
            throw new IOException("cannot listen on " + describe(listen.getAddress(), listen.getPort())
                    + " (UDP): this host has no address of that family on an interface that is up");
        }
        for (int attempt = 1; ; attempt++) {
            // 0.0.0.0 is IPv4 alone, as its UDP sockets are: a plain ServerSocket is an IPv6 socket where IPv6 is up, and
            // bound to 0.0.0.0 it took IPv6 connections too, so [::1] was answered over TCP and refused over UDP
            ServerSocket tcp = listen.getAddress() instanceof Inet4Address
                    ? java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.INET).socket() : new ServerSocket();
            try {
                tcp.setReuseAddress(true);
                tcp.bind(listen);
            } catch (IOException e) {
                tcp.close();
                throw new IOException("cannot listen on " + describe(listen.getAddress(), listen.getPort())
                        + " (TCP): " + e.getMessage() + "; is another server using that port?", e);
            }
            List<DatagramSocket> udp = new ArrayList<>();
            IOException first = null;
            boolean taken = false;
            for (InetAddress a : addresses) {
                try {
                    udp.add(bindUdp(new InetSocketAddress(a, tcp.getLocalPort())));
                } catch (IOException e) {
                    // An address that cannot be bound (an IPv6 address still tentative at boot, one on two interfaces) is
                    // passed over with a warning, as BIND does; the start fails only when no address can be served.
                    first = first == null ? e : first;
                    taken |= e.getCause() instanceof BindException && String.valueOf(e.getCause().getMessage()).contains("in use");
                    log.warn("UDP on {} port {} not served: {}", a.getHostAddress(), tcp.getLocalPort(), e.getMessage());
                }
            }
            if (udp.isEmpty() || (taken && listen.getPort() == 0)) {
                udp.forEach(DatagramSocket::close);
                tcp.close();
                if (listen.getPort() == 0 && attempt < BIND_ATTEMPTS) {
                    continue; // TCP's free port is taken for UDP on an address: try another
                }
                throw first;
            }
            return started(zones, limits, udp, tcp);
        }
    }

    private static DatagramSocket bindUdp(InetSocketAddress listen) throws IOException {
        DatagramSocket udp = new DatagramSocket(null);
        try {
            udp.bind(listen);
            return udp;
        } catch (IOException e) {
            udp.close();
            throw new IOException("cannot listen on " + describe(listen.getAddress(), listen.getPort())
                    + " (UDP): " + e.getMessage() + "; is another server using that port?", e);
        }
    }

    /** The addresses the UDP sockets are bound to: the listen address, or each of this host's for a wildcard one. */
    List<InetSocketAddress> udpAddresses() {
        return udp.stream().map(u -> (InetSocketAddress) u.getLocalSocketAddress()).toList();
    }

    /** The address and port both sockets are bound to (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    /** Blocks until {@link #close()} has stopped the server. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    private void receiveUdp(DatagramSocket udp) {
        byte[] buffer = new byte[limits.maxRequestBytes()];
        DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        while (!closing) {
            try {
                packet.setLength(buffer.length);
                udp.receive(packet); // a longer datagram is cut to the buffer and then fails to parse: FORMERR
                InetSocketAddress client = (InetSocketAddress) packet.getSocketAddress();
                // Every datagram with a query's header gets an answer (FORMERR at least). First a limit for all of a
                // network's answers together, at a multiple of the rate, before any work: a flood from one network is
                // not even answered. Then, once the answer is built, the limit for that kind of answer (BIND's RRL).
                boolean query = packet.getLength() >= org.xbill.DNS.Header.LENGTH && (buffer[2] & 0x80) == 0;
                ResponseRateLimiter.Verdict overall = query ? networkLimiter.verdict(client.getAddress())
                        : ResponseRateLimiter.Verdict.ANSWER;
                if (overall == ResponseRateLimiter.Verdict.DROP) {
                    limitedAnswers.warn(() -> "UDP answers to " + ResponseRateLimiter.describe(client.getAddress())
                            + " are over the rate limit of " + limits.rateLimit().answersPerSecond() * NETWORK_RATE_FACTOR
                            + " a second for all answers together: " + limitedFate(limits.rateLimit().slip()));
                    continue;
                }
                Optional<QueryResponder.Rated> rated = responder.respondRated(buffer, packet.getLength(), QueryResponder.Transport.UDP, client);
                Optional<byte[]> answer = rated.map(QueryResponder.Rated::wire);
                ResponseRateLimiter.Verdict verdict = overall != ResponseRateLimiter.Verdict.ANSWER ? overall
                        : rated.isPresent() && query ? rateLimiter.verdict(client.getAddress(), rated.get().rateKey())
                        : ResponseRateLimiter.Verdict.ANSWER;
                if (verdict != ResponseRateLimiter.Verdict.ANSWER) {
                    limitedAnswers.warn(() -> "UDP answers to " + ResponseRateLimiter.describe(client.getAddress())
                            + " are over the rate limit of " + limits.rateLimit().answersPerSecond()
                            + " a second: " + limitedFate(limits.rateLimit().slip()));
                    if (verdict == ResponseRateLimiter.Verdict.DROP) {
                        continue;
                    }
                }
                if (answer.isPresent()) {
                    byte[] reply = verdict == ResponseRateLimiter.Verdict.SLIP ? QueryResponder.truncated(answer.get()) : answer.get();
                    udp.send(new DatagramPacket(reply, reply.length, client));
                }
            } catch (IOException e) {
                if (!closing) {
                    udpErrors.warn(() -> "UDP on " + udp.getLocalSocketAddress() + ": " + e);
                }
            }
        }
    }

    private static String limitedFate(int slip) {
        return switch (slip) {
            case 0 -> "dropped";
            case 1 -> "sent truncated (TC) to be asked again over TCP";
            default -> "dropped, one in " + slip + " sent truncated (TC) to be asked again over TCP";
        };
    }

    private void acceptTcp() {
        while (!closing) {
            Socket connection;
            try {
                connection = tcp.accept();
            } catch (IOException e) {
                if (!closing) {
                    log.warn("TCP accept on {}: {}", address, e.toString());
                }
                continue;
            }
            boolean admitted;
            try {
                admitted = admit(connection);
            } catch (RuntimeException bug) {
                // a fault of ours must not end the only thread that accepts TCP: this connection is closed, the next served
                log.error("TCP connection from {}: {}", connection.getRemoteSocketAddress(), bug.toString(), bug);
                admitted = false;
            }
            if (!admitted) {
                closeQuietly(connection);
                continue;
            }
            openConnections.put(connection, new java.util.concurrent.atomic.AtomicLong(System.nanoTime() | 1));
            try {
                connectionThreads.execute(() -> serve(connection));
            } catch (RejectedExecutionException stopping) {
                release(connection);
            }
        }
    }

    /**
     * Takes a slot for a new connection: none when its client network already holds a quarter of them (one client
     * cannot shut the others out of TCP, where the rate limiter sends them); when every slot is taken, the one of the
     * connection that has waited longest for its next query, which is closed.
     */
    private boolean admit(Socket connection) {
        long network = ResponseRateLimiter.network(connection.getInetAddress());
        int perNetwork = Math.max(1, limits.maxTcpConnections() / 4);
        long fromNetwork = openConnections.keySet().stream().filter(s -> ResponseRateLimiter.network(s.getInetAddress()) == network).count();
        if (fromNetwork >= perNetwork) {
            log.debug("TCP connection from {} closed: {} connections from its network already open",
                    connection.getRemoteSocketAddress(), fromNetwork);
            return false;
        }
        if (connectionSlots.tryAcquire()) {
            return true;
        }
        // The connection waiting longest for its next query, taken from its thread only while it still waits (a query
        // that has just arrived whole is answered, not cut off).
        // Each state read once, then sorted by that copy: the serving threads change the live ones meanwhile (a sort by
        // live values could break its comparator's contract and throw).
        record Waiting(Socket socket, java.util.concurrent.atomic.AtomicLong state, long since) {}
        List<Waiting> waiting = new ArrayList<>();
        openConnections.forEach((socket, state) -> {
            long since = state.get();
            if (since != BUSY && since != EVICTED) {
                waiting.add(new Waiting(socket, state, since));
            }
        });
        waiting.sort(java.util.Comparator.comparingLong(Waiting::since));
        for (Waiting w : waiting) {
            if (w.state().compareAndSet(w.since(), EVICTED)) {
                log.debug("TCP connection from {} closed while idle to make room for {}", w.socket().getRemoteSocketAddress(),
                        connection.getRemoteSocketAddress());
                release(w.socket());
                return connectionSlots.tryAcquire();
            }
        }
        if (connectionSlots.tryAcquire()) {
            return true; // one closed by itself meanwhile
        }
        log.debug("TCP connection from {} closed: {} connections already open, none idle",
                connection.getRemoteSocketAddress(), limits.maxTcpConnections());
        return false;
    }

    /** A connection's wait state: reading or answering a query (not to be closed to make room). */
    private static final long BUSY = 0;
    /** A connection's wait state: closed to make room for another. */
    private static final long EVICTED = Long.MIN_VALUE;

    /** Length-framed queries (RFC 1035 §4.2.2), answered in order, until the client closes or idles. */
    private void serve(Socket connection) {
        try {
            connection.setSoTimeout((int) Math.min(Integer.MAX_VALUE, limits.tcpIdleTimeout().toMillis()));
            connection.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(connection.getInputStream()));
            OutputStream out = new BufferedOutputStream(connection.getOutputStream());
            java.util.concurrent.atomic.AtomicLong waiting = openConnections.get(connection);
            while (!closing && waiting != null) {
                byte[] query;
                int length;
                long since = System.nanoTime() | 1; // odd: never BUSY nor EVICTED
                long was = waiting.get();
                if (was == EVICTED || !waiting.compareAndSet(was, since)) {
                    return; // closed to make room before this thread began
                }
                try {
                    // until the whole query is read, this connection may be closed to make room
                    int high = in.read(); // waiting for a query: the idle timeout
                    if (high < 0) {
                        return;
                    }
                    // From its first octet on, a query has ioTimeout to arrive whole (its length's second octet included).
                    java.util.concurrent.ScheduledFuture<?> lengthDue = closeUnlessDone(connection, "a query");
                    try {
                        length = (high << 8) | in.readUnsignedByte();
                        if (length > limits.maxRequestBytes()) {
                            log.debug("TCP from {}: {}-byte query is over the {}-byte limit; closing",
                                    connection.getRemoteSocketAddress(), length, limits.maxRequestBytes());
                            return;
                        }
                        query = new byte[length];
                        in.readFully(query);
                    } finally {
                        lengthDue.cancel(false);
                    }
                    if (!waiting.compareAndSet(since, BUSY)) {
                        return; // closed to make room just as the query came: the client asks again (RFC 7766 §6.2.3)
                    }
                } catch (EOFException | SocketTimeoutException closedOrIdle) {
                    return;
                }
                Optional<byte[]> answer = responder.respond(query, length, QueryResponder.Transport.TCP,
                        (InetSocketAddress) connection.getRemoteSocketAddress());
                if (answer.isEmpty()) {
                    return; // not a query: nothing more to expect from this peer
                }
                byte[] a = answer.get();
                java.util.concurrent.ScheduledFuture<?> writing = closeUnlessDone(connection, "an answer");
                try {
                    out.write(a.length >>> 8);
                    out.write(a.length & 0xFF);
                    out.write(a);
                    out.flush();
                } finally {
                    writing.cancel(false);
                }
            }
        } catch (IOException e) {
            if (!closing) {
                log.debug("TCP from {}: {}", connection.getRemoteSocketAddress(), e.toString());
            }
        } finally {
            release(connection);
        }
    }

    private void release(Socket connection) {
        if (openConnections.remove(connection) != null) {
            closeQuietly(connection);
            connectionSlots.release();
        }
    }

    /** Closes both sockets and every open connection, and waits briefly for the threads to end. Idempotent. */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        udp.forEach(DatagramSocket::close);
        closeQuietly(tcp);
        List.copyOf(openConnections.keySet()).forEach(this::release);
        connectionThreads.shutdownNow();
        watchdog.shutdownNow();
        // A blocked receive() releases the port only when its thread leaves it: wait for that even
        // when the caller was interrupted (a stop signal), then pass the interrupt on.
        boolean interrupted = Thread.interrupted();
        try {
            for (Thread t : udpThreads) {
                t.join(2_000);
            }
            acceptThread.join(2_000);
            connectionThreads.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            stopped.countDown();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing on the way out: nothing left to do with the error
        }
    }

    private static String describe(java.net.InetAddress host, int port) {
        String h = host.getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
    }
}
