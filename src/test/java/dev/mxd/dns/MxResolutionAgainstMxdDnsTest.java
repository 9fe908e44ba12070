package dev.mxd.dns;

import dev.mxd.testing.AuthoritativeDns;
import dev.mxd.testing.MxdDnsServer;
import java.nio.file.Path;
import java.util.Map;

/**
 * The MX resolution rules against mxd's own authoritative server. The SERVFAIL case is
 * Knot-only: mxd dns refuses to start with a zone that does not load (exit 65) rather than
 * serving SERVFAIL for it.
 */
class MxResolutionAgainstMxdDnsTest extends MxResolutionContract {

    @Override
    AuthoritativeDns start(Map<String, Path> zones) throws Exception {
        return MxdDnsServer.start(zones);
    }

    @Override
    boolean answersServfailForBrokenZones() {
        return false;
    }
}
