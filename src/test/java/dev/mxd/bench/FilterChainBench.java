package dev.mxd.bench;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.filter.FilterChain;
import dev.mxd.filter.FilterVerdict;
import dev.mxd.config.FiltersConfig;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.config.SpamPolicy;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.Spamd;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Messages per second through {@link FilterChain} with no engines, clamd alone, spamd alone, and
 * clamd + spamd, against the real daemons on loopback (started like the peer tests), from
 * several threads as SMTP sessions would call it. Run by bench/filter.sh; no assertions.
 * Arguments: seconds per case (default 10), threads (default 4), message size in bytes (default 4096).
 */
public final class FilterChainBench {

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 4096;
        Path file = Files.createTempFile("mxd-bench", ".eml");
        StringBuilder text = new StringBuilder("From: Alice <alice@x.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Report\r\n"
                + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <bench@x.test>\r\n\r\n");
        for (int i = 0; text.length() < size; i++) {
            text.append("Line ").append(i).append(" of the quarterly report, with nothing remarkable in it at all.\r\n");
        }
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        MessageSource message = MessageSource.of(file);
        ScanEnvelope envelope = ScanEnvelope.of("bench", "alice@x.test", List.of("bob@example.test"));
        SpamPolicy steps = new SpamPolicy(OptionalDouble.of(5), OptionalDouble.of(10), OptionalDouble.of(15), OptionalDouble.empty(),
                Optional.of("[SPAM] "), false);
        try (Clamd clamd = Clamd.start("25M"); Spamd spamd = Spamd.start()) {
            FiltersConfig config = new FiltersConfig(Optional.of(new FiltersConfig.Clamd(clamd.address(), 25L << 20)),
                    Optional.of(new FiltersConfig.Spamd(spamd.address(), "mxd")), Optional.empty(), Duration.ofSeconds(30),
                    FiltersConfig.OnError.TEMPFAIL, FiltersConfig.OnTooLarge.ACCEPT);
            FilterChain chain = FilterChain.fromConfig(config);
            System.out.printf("message %d bytes, %d threads, %d s per case; clamd %s, spamd %s (2 children)%n",
                    Files.size(file), threads, seconds, clamd.address(), spamd.address());
            run("no engines", chain, message, envelope, List.of(), seconds, threads);
            run("clamd", chain, message, envelope,
                    List.of(new DomainFilter(List.of(Engine.CLAMD), DomainFilter.VirusAction.REJECT, Optional.empty())), seconds, threads);
            run("spamd", chain, message, envelope,
                    List.of(new DomainFilter(List.of(Engine.SPAMD), DomainFilter.VirusAction.REJECT, Optional.of(steps))), seconds, threads);
            run("clamd + spamd", chain, message, envelope,
                    List.of(new DomainFilter(List.of(Engine.CLAMD, Engine.SPAMD), DomainFilter.VirusAction.REJECT, Optional.of(steps))),
                    seconds, threads);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void run(String name, FilterChain chain, MessageSource message, ScanEnvelope envelope, List<DomainFilter> policies,
                            int seconds, int threads) throws Exception {
        // warm-up: a tenth of the time, not counted
        measure(chain, message, envelope, policies, Math.max(1, seconds / 10), threads);
        long[] r = measure(chain, message, envelope, policies, seconds, threads);
        System.out.printf("%-14s %9.1f msgs/s  (%d messages, %d not accepted)%n", name, r[0] / (double) seconds, r[0], r[1]);
    }

    private static long[] measure(FilterChain chain, MessageSource message, ScanEnvelope envelope, List<DomainFilter> policies,
                                  int seconds, int threads) throws Exception {
        AtomicLong done = new AtomicLong();
        AtomicLong odd = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        FilterVerdict v = chain.filter(message, envelope, policies);
                        done.incrementAndGet();
                        if (!(v instanceof FilterVerdict.Accept)) {
                            odd.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get(seconds + 60L, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        return new long[] {done.get(), odd.get()};
    }
}
