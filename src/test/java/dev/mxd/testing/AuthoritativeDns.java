package dev.mxd.testing;

import java.net.InetSocketAddress;

/** A running authoritative DNS server a test asks: Knot, or mxd's own. */
public interface AuthoritativeDns extends AutoCloseable {

    InetSocketAddress address();

    @Override
    void close();
}
