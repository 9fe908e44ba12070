package dev.mxd.delivery;

import dev.mxd.smtp.AddressText;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** One place to connect to: an MX host's address and the SMTP port, with the host's name and preference. */
public record MxRoute(String host, int preference, InetAddress address, int port) {

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    /** Postfix's log form: {@code host[address]:port}. */
    @Override
    public String toString() {
        return host + "[" + AddressText.of(address) + "]:" + port;
    }
}
