package dev.mxd.dns;

import dev.mxd.testing.AuthoritativeDns;
import dev.mxd.testing.KnotServer;
import java.nio.file.Path;
import java.util.Map;

/** The MX resolution rules against Knot DNS, a real authoritative server. */
class MxResolutionAgainstKnotTest extends MxResolutionContract {

    @Override
    AuthoritativeDns start(Map<String, Path> zones) throws Exception {
        return KnotServer.start(zones);
    }

    @Override
    boolean answersServfailForBrokenZones() {
        return true;
    }
}
