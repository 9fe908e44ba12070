package dev.mxd.check;

import dev.mxd.smtp.client.ProbeResult;
import java.net.InetAddress;

/** The SMTP probe of one address of one mail exchanger. */
public record HostProbe(String host, int preference, ProbeResult result) {

    public InetAddress address() {
        return result.target().getAddress();
    }

    public int port() {
        return result.target().getPort();
    }

    public boolean reached() {
        return result instanceof ProbeResult.Reached;
    }
}
