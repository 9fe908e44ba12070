package dev.mxd.cli;

import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.server.DnsServer;
import dev.mxd.dns.server.ResponseRateLimit;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.ZoneFileException;
import dev.mxd.dns.server.Zones;
import dev.mxd.node.StopOnSignal;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mxd dns}: publish zone files (the domains' MX, A, AAAA, ...) as an authoritative DNS server. */
@Command(name = "dns", mixinStandardHelpOptions = true,
        description = {"Serve RFC 1035 zone files as an authoritative DNS server over UDP and TCP, until SIGTERM or SIGINT.",
                "SIGHUP: read every zone file again; a file that no longer loads keeps the zone it held (the error on stderr).",
                "Exit status: 0 after a clean stop, 65 a zone file is wrong, 75 the address cannot be listened on, 64 usage error."},
        footer = {"", "Example:", "  mxd dns --zone example.test.zone --listen 127.0.0.1:5354",
                "  dig +norec -p 5354 @127.0.0.1 example.test MX"})
final class DnsCommand implements Callable<Integer> {

    static final String DEFAULT_LISTEN = "127.0.0.1:5354";

    @Option(names = "--zone", paramLabel = "FILE", required = true, arity = "1..*",
            description = "A zone file (repeatable). Origin: its $ORIGIN or SOA owner, else the file name without .zone/.db.")
    List<Path> zoneFiles = new ArrayList<>();

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = DEFAULT_LISTEN,
            description = "Address for UDP and TCP (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--rate-limit", paramLabel = "N", defaultValue = "20",
            description = {"Identical UDP answers a second to one client network (IPv4 /24, IPv6 /56); more are truncated or dropped"
                    + " (response-rate limiting, as Knot's and BIND's RRL). 0 turns it off; TCP is never limited"
                    + " (default ${DEFAULT-VALUE})."})
    int rateLimit;

    @Option(names = "--slip", paramLabel = "N", defaultValue = "1",
            description = {"Of the answers over --rate-limit, send every Nth truncated (TC, no records, no larger than"
                    + " the query) so a real resolver asks again over TCP, the first of them truncated and the"
                    + " rest dropped; 1 all of them (as Knot), 0 none (default ${DEFAULT-VALUE})."})
    int slip;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        InetSocketAddress address;
        try {
            address = DnsSettings.parseServer(listen);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--listen " + e.getMessage(), e);
        }
        ResponseRateLimit rrl;
        try {
            rrl = new ResponseRateLimit(rateLimit, slip);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rate-limit " + rateLimit + " --slip " + slip + ": " + e.getMessage(), e);
        }
        Zones zones;
        try {
            List<ServedZone> loaded = new ArrayList<>();
            for (Path file : zoneFiles) {
                loaded.add(ServedZone.load(file));
            }
            zones = new Zones(loaded);
        } catch (ZoneFileException | IllegalArgumentException e) {
            err.println("mxd dns: " + e.getMessage());
            err.flush();
            return ExitCodes.DATA_ERROR;
        }
        DnsServer server;
        try {
            server = DnsServer.start(zones, address, DnsServer.Limits.defaults().withRateLimit(rrl));
        } catch (IOException e) {
            err.println("mxd dns: " + e.getMessage() + " (choose another --listen HOST:PORT)");
            err.flush();
            return ExitCodes.TEMPORARY;
        }
        StopOnSignal running = StopOnSignal.stopping(server::close).onHangup(() -> reload(server, out, err));
        for (ServedZone z : zones.all()) {
            z.warnings().forEach(w -> err.println("mxd dns: warning: " + z.file() + " " + w));
            out.printf("zone %s: %d records from %s%n", z.origin(), z.recordCount(), z.file());
        }
        err.flush();
        out.printf("listening on %s (UDP and TCP)%n", new dev.mxd.config.HostPort(server.address().getAddress(), server.port()));
        if (rrl.enabled()) {
            out.printf("rate limit: %d UDP answers a second per client network, slip %d%n", rrl.answersPerSecond(), rrl.slip());
        }
        out.flush();
        // SIGTERM or SIGINT closes the server (exit 0); interrupting the thread (embedded: tests, a demo) does too
        running.await();
        return ExitCodes.OK;
    }

    /**
     * SIGHUP ({@code knotc reload}): every zone file read again; a file that no longer loads, or that now
     * holds another zone (its SOA owner changed), keeps the zone it held before, and says why with its file
     * and line.
     */
    private void reload(DnsServer server, PrintWriter out, PrintWriter err) {
        List<ServedZone> before = server.zones().all();
        List<ServedZone> next = new ArrayList<>();
        for (int i = 0; i < zoneFiles.size(); i++) {
            Path file = zoneFiles.get(i);
            ServedZone old = before.get(i);
            try {
                ServedZone z = ServedZone.load(file);
                if (!z.origin().equals(old.origin())) {
                    // a typo in the SOA owner, a $ORIGIN changed by mistake: the zone being served would go, and its
                    // names be answered REFUSED; serving another zone from this file takes a restart
                    err.println("mxd dns: reload: " + file + ": its SOA record is now for " + z.origin() + ", not " + old.origin()
                            + " (check the SOA owner and $ORIGIN; to serve another zone from this file, restart mxd dns);"
                            + " still serving the zone " + old.origin() + " loaded before");
                    next.add(old);
                    continue;
                }
                z.warnings().forEach(w -> err.println("mxd dns: warning: " + z.file() + " " + w));
                next.add(z);
                out.printf("reload: zone %s: %d records from %s%n", z.origin(), z.recordCount(), z.file());
            } catch (ZoneFileException | RuntimeException e) {
                err.println("mxd dns: reload: " + e.getMessage() + "; still serving the zone " + old.origin() + " loaded before");
                next.add(old);
            }
        }
        try {
            server.replaceZones(new Zones(next));
        } catch (IllegalArgumentException e) {
            err.println("mxd dns: reload: " + e.getMessage() + "; still serving every zone loaded before");
        }
        out.flush();
        err.flush();
    }
}
