package dev.mxd.check;

import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.smtp.client.SmtpProbe;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Probes every address of every mail exchanger of a resolved domain and grades the result. Probes
 * run in parallel on a small pool, so a domain with several dead hosts takes about one timeout,
 * not one per host; each probe is bounded by its own timeouts, so the whole check is too.
 */
public final class MxCheck {

    /** Probes at once; enough for a typical domain's addresses without hammering anyone. */
    public static final int MAX_PARALLEL = 8;

    private final SmtpProbe probe;
    private final int port;

    public MxCheck(SmtpProbe probe, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1 to 65535, not " + port);
        }
        this.probe = probe;
        this.port = port;
    }

    public CheckReport check(MxOutcome outcome) {
        List<HostProbe> probes = outcome instanceof MxOutcome.Routes routes ? probeAll(routes.hosts()) : List.of();
        return new CheckReport(outcome, port, probes, Findings.of(outcome, probes, port));
    }

    private List<HostProbe> probeAll(List<MxHost> hosts) {
        record Target(MxHost host, InetAddress address) {}
        List<Target> targets = new ArrayList<>();
        hosts.forEach(h -> h.addresses().forEach(a -> targets.add(new Target(h, a))));
        if (targets.isEmpty()) {
            return List.of();
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(MAX_PARALLEL, targets.size()), r -> {
            Thread t = new Thread(r, "mxd-check-probe-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<ProbeResult>> futures = new ArrayList<>();
            for (Target t : targets) {
                futures.add(pool.submit(() -> probe.probe(new InetSocketAddress(t.address(), port))));
            }
            List<HostProbe> out = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                Target t = targets.get(i);
                out.add(new HostProbe(t.host().name(), t.host().preference(), futures.get(i).get()));
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while probing mail exchangers", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("an SMTP probe failed unexpectedly: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
