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
 * {@code idleLimit} and has carried fewer than {@code maxMessages} messages.
 */
public final class ConnectionCache implements AutoCloseable {

    private record Idle(SmtpConnection connection, long since) {}

    private final Duration idleLimit;
    private final int maxMessages;
    private final int maxPerAddress;
    private final Map<InetSocketAddress, Deque<Idle>> idle = new HashMap<>();

    public ConnectionCache(Duration idleLimit, int maxMessages, int maxPerAddress) {
        this.idleLimit = idleLimit;
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
        List<SmtpConnection> stale = new ArrayList<>();
        Optional<SmtpConnection> found = Optional.empty();
        synchronized (this) {
            Deque<Idle> q = idle.get(address);
            while (q != null && !q.isEmpty()) {
                Idle i = q.pollLast();
                if (System.nanoTime() - i.since < idleLimit.toNanos() && i.connection.reusable() && fits.test(i.connection)) {
                    found = Optional.of(i.connection);
                    break;
                }
                stale.add(i.connection);
            }
        }
        stale.forEach(SmtpConnection::close); // QUIT outside the lock
        return found;
    }

    /** Keeps a connection after a transaction, or closes it when it may not be reused. */
    public void release(InetSocketAddress address, SmtpConnection connection) {
        if (connection.reusable() && connection.transactions() < maxMessages) {
            synchronized (this) {
                Deque<Idle> q = idle.computeIfAbsent(address, a -> new ArrayDeque<>());
                if (q.size() < maxPerAddress) {
                    q.addLast(new Idle(connection, System.nanoTime()));
                    return;
                }
            }
        }
        connection.close();
    }

    @Override
    public void close() {
        List<SmtpConnection> all = new ArrayList<>();
        synchronized (this) {
            idle.values().forEach(q -> q.forEach(i -> all.add(i.connection)));
            idle.clear();
        }
        all.forEach(SmtpConnection::close);
    }
}
