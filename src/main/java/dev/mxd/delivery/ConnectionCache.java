package dev.mxd.delivery;

import dev.mxd.smtp.client.SmtpConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Idle SMTP connections kept open for the next message to the same MX address, like
 * Postfix's scache: a connection is reused only while it has been idle less than
 * {@code idleLimit}, was initiated less than {@code reuseLimit} ago (Postfix's
 * {@code smtp_connection_reuse_time_limit}) and, when {@code maxMessages} is not 0, has carried
 * fewer messages than that (Postfix's {@code smtp_connection_reuse_count_limit}, 0 by default
 * there too). Idle connections past {@code idleLimit} are closed by a sweep every
 * {@code idleLimit} (Postfix's scache expires its entries on a timer too), so that connections to
 * addresses no later mail goes to do not hold their sockets and buffers until shutdown.
 */
public final class ConnectionCache implements AutoCloseable {

    private record Idle(SmtpConnection connection, long since) {}

    private final Duration idleLimit;
    private final long reuseLimitNanos;
    private final int maxMessages;
    private final int maxPerAddress;
    private final Map<InetSocketAddress, Deque<Idle>> idle = new HashMap<>();
    private java.util.concurrent.ScheduledExecutorService sweeper; // guarded by this; started with the first idle connection
    private boolean closed;                                          // guarded by this

    /** @param maxMessages the most messages a connection carries, or 0 for no such limit */
    public ConnectionCache(Duration idleLimit, Duration reuseLimit, int maxMessages, int maxPerAddress) {
        this.idleLimit = idleLimit;
        this.reuseLimitNanos = reuseLimit.toNanos();
        this.maxMessages = maxMessages;
        this.maxPerAddress = maxPerAddress;
    }

    /** A reusable idle connection to {@code address}, if one is cached. */
    public Optional<SmtpConnection> take(InetSocketAddress address) {
        return take(address, c -> true);
    }

    /**
     * A reusable idle connection to {@code address} that {@code fits} the mail at hand (one opened with
     * the TLS authentication its policy asks for), if one is cached; idle ones that do not fit are closed.
     */
    public Optional<SmtpConnection> take(InetSocketAddress address, java.util.function.Predicate<SmtpConnection> fits) {
        return take(address, fits, true);
    }

    /**
     * As {@link #take(InetSocketAddress, java.util.function.Predicate)}, but idle connections that do not fit stay for
     * others (a delivery waiting for a session to come free asks again and again, and must not close another's).
     */
    public Optional<SmtpConnection> takeLeavingOthers(InetSocketAddress address, java.util.function.Predicate<SmtpConnection> fits) {
        return take(address, fits, false);
    }

    private Optional<SmtpConnection> take(InetSocketAddress address, java.util.function.Predicate<SmtpConnection> fits,
                                          boolean closeUnfit) {
        List<SmtpConnection> stale = new ArrayList<>();
        Optional<SmtpConnection> found = Optional.empty();
        synchronized (this) {
            Deque<Idle> q = idle.get(address);
            List<Idle> unfit = new ArrayList<>();
            while (q != null && !q.isEmpty()) {
                Idle i = q.pollLast();
                // a server that spoke while the connection sat idle is out of step with it (or said 421): not used again
                boolean usable = System.nanoTime() - i.since < idleLimit.toNanos() && reusable(i.connection)
                        && !i.connection.sentUnasked();
                if (usable && fits.test(i.connection)) {
                    found = Optional.of(i.connection);
                    break;
                }
                if (usable && !closeUnfit) {
                    unfit.add(i);
                } else {
                    stale.add(i.connection);
                }
            }
            for (int k = unfit.size() - 1; k >= 0; k--) {
                q.addLast(unfit.get(k)); // back in the order they were
            }
        }
        stale.forEach(SmtpConnection::close); // QUIT outside the lock
        return found;
    }

    /** Keeps a connection after a transaction, or closes it when it may not be reused. */
    public void release(InetSocketAddress address, SmtpConnection connection) {
        if (reusable(connection)) {
            synchronized (this) {
                Deque<Idle> q = closed ? new ArrayDeque<>() : idle.computeIfAbsent(address, a -> new ArrayDeque<>());
                if (!closed && q.size() < maxPerAddress) {
                    q.addLast(new Idle(connection, System.nanoTime()));
                    startSweeper();
                    return;
                }
            }
        }
        connection.close();
    }

    private void startSweeper() { // with this held
        if (sweeper == null) {
            sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "connection-cache-sweep");
                t.setDaemon(true);
                return t;
            });
            long period = Math.max(1, idleLimit.toMillis());
            sweeper.scheduleWithFixedDelay(() -> {
                try {
                    sweep();
                } catch (RuntimeException e) { // a failed close must not end the sweeps for good
                    org.slf4j.LoggerFactory.getLogger(ConnectionCache.class).warn("closing idle connections failed: {}", e.toString());
                }
            }, period, period, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** Closes the idle connections past the idle limit; returns how many. */
    int sweep() {
        List<SmtpConnection> expired = new ArrayList<>();
        synchronized (this) {
            long now = System.nanoTime();
            for (var it = idle.values().iterator(); it.hasNext(); ) {
                Deque<Idle> q = it.next();
                q.removeIf(i -> {
                    boolean old = now - i.since >= idleLimit.toNanos();
                    if (old) {
                        expired.add(i.connection);
                    }
                    return old;
                });
                if (q.isEmpty()) {
                    it.remove();
                }
            }
        }
        expired.forEach(SmtpConnection::close); // QUIT outside the lock
        return expired.size();
    }

    /** Idle connections held now to {@code address}. */
    public synchronized int idle(InetSocketAddress address) {
        Deque<Idle> q = idle.get(address);
        return q == null ? 0 : q.size();
    }

    /** Idle connections held now, over every address. */
    synchronized int size() {
        return idle.values().stream().mapToInt(Deque::size).sum();
    }

    private boolean reusable(SmtpConnection c) {
        return c.reusable() && c.ageNanos() < reuseLimitNanos && (maxMessages == 0 || c.transactions() < maxMessages);
    }

    @Override
    public void close() {
        List<SmtpConnection> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            if (sweeper != null) {
                sweeper.shutdownNow();
            }
            idle.values().forEach(q -> q.forEach(i -> all.add(i.connection)));
            idle.clear();
        }
        all.forEach(SmtpConnection::close);
    }
}
