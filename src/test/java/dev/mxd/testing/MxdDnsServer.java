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
        return start(zones.values(), new InetSocketAddress("127.0.0.1", 0));
    }

    /** Serves the zone files on a chosen address (port 0: any free one). */
    public static MxdDnsServer start(java.util.Collection<Path> zoneFiles, InetSocketAddress listen) throws Exception {
        List<ServedZone> served = new ArrayList<>();
        for (Path file : zoneFiles) {
            served.add(ServedZone.load(file));
        }
        return new MxdDnsServer(DnsServer.start(new Zones(served), listen, DnsServer.Limits.defaults()));
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
