package dev.mxd.testing;

import dev.mxd.dns.server.DnsServer;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.Zones;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** mxd's own authoritative server ({@code mxd dns}), in-process on a free loopback port. */
public final class MxdDnsServer implements AuthoritativeDns {

    private final DnsServer server;

    private MxdDnsServer(DnsServer server) {
        this.server = server;
    }

    /** Serves the zone files (the origins come from the files themselves). */
    public static MxdDnsServer start(Map<String, Path> zones) throws Exception {
        List<ServedZone> served = new ArrayList<>();
        for (Path file : zones.values()) {
            served.add(ServedZone.load(file));
        }
        return new MxdDnsServer(DnsServer.start(new Zones(served), new InetSocketAddress("127.0.0.1", 0),
                DnsServer.Limits.defaults()));
    }

    @Override
    public InetSocketAddress address() {
        return server.address();
    }

    @Override
    public void close() {
        server.close();
    }
}
