package dev.mxd.smtp.server;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.util.function.Supplier;

/**
 * How the server's sockets are driven: Linux's epoll through Netty's native library where it
 * loads (fewer system calls and less garbage per connection than the JDK's selector), the JDK's
 * NIO elsewhere. {@code -Dio.netty.transport.noNative=true} in MXD_JAVA_OPTS turns the native
 * one off; so does a temporary directory the library cannot be run from (Netty unpacks it there).
 */
enum Transport {
    EPOLL(EpollIoHandler::newFactory, EpollServerSocketChannel.class),
    NIO(NioIoHandler::newFactory, NioServerSocketChannel.class);

    private final Supplier<IoHandlerFactory> ioHandlers;
    private final Class<? extends ServerChannel> serverChannel;

    Transport(Supplier<IoHandlerFactory> ioHandlers, Class<? extends ServerChannel> serverChannel) {
        this.ioHandlers = ioHandlers;
        this.serverChannel = serverChannel;
    }

    /** A factory for the event loops' I/O handlers (one event loop group each). */
    IoHandlerFactory ioHandlers() {
        return ioHandlers.get();
    }

    Class<? extends ServerChannel> serverChannel() {
        return serverChannel;
    }

    /** Epoll where its native library loads, else NIO. */
    static Transport preferred() {
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    /** Why the native transport is not used here, for the log; empty when it is available. */
    static String unavailability() {
        Throwable cause = Epoll.unavailabilityCause();
        return cause == null ? "" : String.valueOf(cause.getMessage());
    }
}
