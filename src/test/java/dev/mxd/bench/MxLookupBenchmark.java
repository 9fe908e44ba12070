package dev.mxd.bench;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * MX resolutions per second against a real authoritative server (bench/dns.sh starts Knot
 * and passes its address): from the answer cache, and with no cache at all (every
 * resolution asks for MX, then A and AAAA of every exchange).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MxLookupBenchmark {

    @Param("127.0.0.1:5354")
    public String dns;

    @Param("multi.mx.test")
    public String domain;

    private MxResolver cached;
    private MxResolver uncached;

    @Setup
    public void setUp() {
        DnsSettings s = DnsSettings.of(List.of(DnsSettings.parseServer(dns)));
        cached = new MxResolver(new DnsClient(s), MxPolicy.defaults());
        DnsSettings noCache = new DnsSettings(s.servers(), s.timeout(), s.attempts(), s.deadline(), s.maxCnameChain(), 0, s.maxTtl());
        uncached = new MxResolver(new DnsClient(noCache), MxPolicy.defaults());
        if (!(cached.resolve(domain) instanceof MxOutcome.Routes)) {
            throw new IllegalStateException(domain + " does not resolve to routes at " + dns);
        }
    }

    @Benchmark
    public MxOutcome cachedPlan() {
        return cached.resolve(domain);
    }

    @Benchmark
    public MxOutcome uncachedPlan() {
        return uncached.resolve(domain);
    }
}
