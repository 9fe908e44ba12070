package dev.mxd.filter;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * One connection to clamd or spamd, TCP or unix socket, bounded by one deadline for the whole
 * exchange. SO_TIMEOUT would bound each read only, not writes (a stalled engine with a full receive
 * buffer blocks the write of a large message forever) and not unix-socket channels at all; a
 * watchdog that closes the channel at the deadline bounds connect, writes and reads alike.
 */
final class EngineConnection implements Closeable {

    /**
     * One daemon thread for every deadline: it only closes channels. A deadline cancelled (the
     * exchange ended in time, nearly always) leaves its queue at once, not when it would have
     * fired: otherwise every scan of the last timeout's worth would wait there with its channel.
     */
    static final ScheduledThreadPoolExecutor WATCHDOG = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "mxd-filter-deadline");
        t.setDaemon(true);
        return t;
    });

    static {
        WATCHDOG.setRemoveOnCancelPolicy(true);
    }

    /** Runs {@code action} (closing a connection) once {@code timeout} has passed, unless cancelled first. */
    static ScheduledFuture<?> atDeadline(Duration timeout, Runnable action) {
        return WATCHDOG.schedule(action, timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private final SocketChannel channel;
    private final ScheduledFuture<?> alarm;
    private final AtomicBoolean expired;
    private final InputStream in;
    private final OutputStream out;

    private EngineConnection(SocketChannel channel, ScheduledFuture<?> alarm, AtomicBoolean expired) {
        this.channel = channel;
        this.alarm = alarm;
        this.expired = expired;
        this.in = Channels.newInputStream(channel);
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 64 * 1024);
    }

    /** Why opening failed: nothing listening, or the deadline passed while connecting. */
    static final class ConnectFailure extends IOException {
        final boolean timedOut;

        ConnectFailure(String message, boolean timedOut, Throwable cause) {
            super(message, cause);
            this.timedOut = timedOut;
        }
    }

    /** Connects within {@code timeout}; that same deadline then bounds the rest of the exchange. */
    static EngineConnection open(EngineAddress address, Duration timeout) throws ConnectFailure {
        SocketChannel channel;
        try {
            channel = address instanceof EngineAddress.Unix ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        } catch (IOException e) {
            throw new ConnectFailure("cannot open a socket: " + e.getMessage(), false, e);
        }
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> alarm = WATCHDOG.schedule(() -> {
            expired.set(true);
            closeQuietly(channel);
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        try {
            channel.connect(address.socketAddress());
            return new EngineConnection(channel, alarm, expired);
        } catch (IOException | UnresolvedAddressException e) {
            alarm.cancel(false);
            closeQuietly(channel);
            String why = e instanceof UnresolvedAddressException ? "unknown host" : String.valueOf(e.getMessage());
            throw new ConnectFailure(expired.get() ? "no connection within " + timeout.toMillis() + " ms" : why, expired.get(), e);
        }
    }

    InputStream in() {
        return in;
    }

    OutputStream out() {
        return out;
    }

    /** True once the deadline closed the channel: any I/O failure after it is a timeout. */
    boolean expired() {
        return expired.get();
    }

    /** Half-closes our side, for engines that read until end of input. */
    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /**
     * Reads until {@code terminator} (excluded) or end of input, at most {@code limit} bytes: a reply
     * longer than any the protocol produces is an error, not a reason to grow the buffer.
     */
    static byte[] readUntil(InputStream in, int terminator, int limit) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128);
        for (int i = 0; i <= limit; i++) {
            int b = in.read();
            if (b < 0 || b == terminator) {
                return buf.toByteArray();
            }
            buf.write(b);
        }
        throw new IOException("reply longer than " + limit + " bytes");
    }

    @Override
    public void close() {
        alarm.cancel(false);
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing left to do
        }
    }

    /** The result for a failed exchange: a timeout when the deadline fired, else what broke. */
    static EngineResult.Unavailable failure(Engine engine, EngineAddress address, EngineConnection c, Duration timeout,
                                            String stage, Exception e) {
        if (c != null && c.expired()) {
            return new EngineResult.Unavailable(engine, EngineResult.Reason.TIMEOUT,
                    "no complete answer from " + address + " within " + timeout.toMillis() + " ms (" + stage + ")");
        }
        return new EngineResult.Unavailable(engine, EngineResult.Reason.PROTOCOL_ERROR,
                stage + " with " + address + " failed: " + e.getMessage());
    }

    /**
     * A daemon's PING (clamd's zPING, spamd's PING SPAMC/1.5) within {@code timeout}: {@code request} sent,
     * one reply read up to {@code terminator}; empty when {@code answered} accepts it, else why not.
     */
    static Optional<EngineResult.Unavailable> ping(Engine engine, EngineAddress address, Duration timeout, String request,
                                                   int terminator, Predicate<String> answered, String expected) {
        EngineConnection c;
        try {
            c = open(address, timeout);
        } catch (ConnectFailure e) {
            return Optional.of(connectFailure(engine, address, e));
        }
        try (c) {
            c.out().write(request.getBytes(StandardCharsets.US_ASCII));
            c.out().flush();
            String reply = new String(readUntil(c.in(), terminator, 4096), StandardCharsets.US_ASCII).strip();
            if (answered.test(reply)) {
                return Optional.empty();
            }
            return Optional.of(new EngineResult.Unavailable(engine, EngineResult.Reason.PROTOCOL_ERROR,
                    engine + " at " + address + " answered '" + ClamdClient.printable(reply) + "' to PING, expected " + expected));
        } catch (IOException e) {
            return Optional.of(failure(engine, address, c, timeout, "PING", e));
        }
    }

    /** The result when connecting failed. */
    static EngineResult.Unavailable connectFailure(Engine engine, EngineAddress address, ConnectFailure e) {
        return new EngineResult.Unavailable(engine, e.timedOut ? EngineResult.Reason.TIMEOUT : EngineResult.Reason.REFUSED,
                "cannot connect to " + address + ": " + e.getMessage() + " (is " + engine + " running there?)");
    }
}
