package dev.mxd.dns;

import dev.mxd.config.DnssecMode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * Asks upstream DNS servers one question at a time and returns what they said as a
 * {@link DnsAnswer}. Truncated UDP answers are retried over TCP (RFC 7766), CNAME chains
 * are followed to a bounded length, and answers are cached for their TTL (RFC 2308 for
 * negative ones). Every question ends within {@link DnsSettings#deadline()}.
 *
 * <p>With DNSSEC validation active (RFC 4035 §5), each server is asked through dnsjava's
 * validating resolver, started from the settings' trust anchors, and every answer carries its
 * {@link DnssecStatus}; a bogus one is a {@link DnsAnswer.Failed}, so it defers like any other
 * temporary failure. In {@link DnssecMode#AUTO} the client decides once, before it answers its
 * first question, whether its servers serve the anchors' keys with valid signatures, and again
 * at each {@link #recheckDnssec()}; never per question.
 */
public final class DnsClient {

    /** EDNS0 UDP payload we advertise: the DNS flag day 2020 value, safe from fragmentation. */
    static final int EDNS_UDP_PAYLOAD = 1232;

    private static final Logger log = LoggerFactory.getLogger(DnsClient.class);

    private final DnsSettings settings;
    private final DnsCache cache;
    private final LongSupplier nanoClock;
    private final LongAdder queriesSent = new LongAdder();
    private final List<Record> anchors;
    /** The servers asked now, each with its plain and (unless dns.dnssec is off) its validating resolver. */
    private volatile List<Upstream> upstreams;
    private final java.util.Optional<ServerSource> source;
    private final Object sourceLock = new Object();
    private volatile long nextSourceCheck; // written under sourceLock
    private Object sourceStamp; // under sourceLock: the watched file's time and size when last read
    private final CompletableFuture<Void> decided;

    /**
     * One server and the resolvers that ask it; {@code silentUntil}: a server that let a question time
     * out is asked after the others until then (nanoClock time; 0: it answers), so that one dead server
     * ahead of a working one does not cost a timeout in every question while it stays dead.
     */
    private record Upstream(InetSocketAddress address, SimpleResolver plain, Resolver validating,
                            java.util.concurrent.atomic.AtomicLong silentUntil) {}

    /** How long a server that let a question time out is asked last: a minute, as a mail system's DNS does not change often. */
    static final long SILENT_NANOS = java.time.Duration.ofSeconds(60).toNanos();

    /** {@code servers}, those that let a question time out lately after the others, each group in its order. */
    private List<Upstream> byRecentSilence(List<Upstream> servers) {
        if (servers.size() < 2) {
            return servers;
        }
        long now = nanoClock.getAsLong();
        List<Upstream> answering = new ArrayList<>();
        List<Upstream> silent = new ArrayList<>();
        for (Upstream u : servers) {
            long until = u.silentUntil().get();
            (until != 0 && until - now > 0 ? silent : answering).add(u);
        }
        if (silent.isEmpty()) {
            return servers;
        }
        // the one silent longest first among them: when all are, the one that answered last is not asked last
        silent.sort(java.util.Comparator.comparingLong(u -> u.silentUntil().get() - now));
        answering.addAll(silent);
        return answering;
    }

    /**
     * Where the servers come from when the configuration names none: the system's resolver file, read
     * again when it changes (a DHCP lease, a VPN, NetworkManager rewrite /etc/resolv.conf; glibc
     * and OpenSMTPD's resolver follow such a change without a restart).
     *
     * @param file    the file whose change (time or size) means the servers may have changed
     * @param servers reads the servers anew
     */
    public record ServerSource(java.nio.file.Path file, java.util.function.Supplier<List<InetSocketAddress>> servers) {

        /** /etc/resolv.conf through dnsjava's reading of it, as {@link DnsSettings#system()}. */
        public static ServerSource resolvConf() {
            java.nio.file.Path file = java.nio.file.Path.of("/etc/resolv.conf");
            return new ServerSource(file, () -> {
                // dnsjava falls back to the loopback address when the file names none: a file caught half rewritten
                // must keep the servers in use instead
                try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(file)) {
                    if (lines.noneMatch(l -> l.strip().startsWith("nameserver"))) {
                        return List.of();
                    }
                } catch (IOException | java.io.UncheckedIOException unreadable) {
                    throw new IllegalStateException(unreadable.getMessage(), unreadable);
                }
                org.xbill.DNS.ResolverConfig.refresh();
                return DnsSettings.system().servers();
            });
        }
    }

    /** How often, at most, the server source's file is looked at (one stat). */
    static final long SOURCE_CHECK_NANOS = java.time.Duration.ofSeconds(5).toNanos();
    private volatile boolean validating;
    /** Whether the auto check has run once; whether its last run was inconclusive while off (checked again soon). */
    private volatile boolean checkedOnce;
    /** Validating since a start-up check that got no answer at all, until a check hears the servers. */
    private volatile boolean provisional;
    private volatile boolean retrySoon;
    private volatile String dnssecNote;
    /** Whether the servers' DNSSEC is checked again while this client lives (a node), or it answers one command. */
    private final boolean checkedAgain;

    public DnsClient(DnsSettings settings) {
        this(settings, System::nanoTime, java.util.Optional.empty());
    }

    /**
     * For one command's questions ({@code mxd lookup}, {@code mxd check}): nobody checks the servers' DNSSEC again, so
     * the note on it does not promise that it is "checked again in a minute".
     */
    public static DnsClient once(DnsSettings settings) {
        return new DnsClient(settings, System::nanoTime, java.util.Optional.empty(), false);
    }

    /** Asking the servers {@code source} gives, read again when its file changes ({@code settings} holds the first ones). */
    public DnsClient(DnsSettings settings, ServerSource source) {
        this(settings, System::nanoTime, java.util.Optional.of(source));
    }

    DnsClient(DnsSettings settings, LongSupplier nanoClock) {
        this(settings, nanoClock, java.util.Optional.empty());
    }

    DnsClient(DnsSettings settings, LongSupplier nanoClock, java.util.Optional<ServerSource> source) {
        this(settings, nanoClock, source, true);
    }

    private DnsClient(DnsSettings settings, LongSupplier nanoClock, java.util.Optional<ServerSource> source, boolean checkedAgain) {
        this.checkedAgain = checkedAgain;
        this.settings = settings;
        this.nanoClock = nanoClock;
        this.cache = new DnsCache(settings.cacheSize(), nanoClock);
        this.anchors = settings.trustAnchors().isEmpty() ? RootAnchors.records() : settings.trustAnchors();
        this.source = source;
        source.ifPresent(s -> {
            sourceStamp = stamp(s.file());
            nextSourceCheck = nanoClock.getAsLong() + SOURCE_CHECK_NANOS;
        });
        this.upstreams = upstreams(settings.servers());
        if (settings.dnssec() == DnssecMode.OFF) {
            dnssecNote = "DNSSEC validation is off (dns.dnssec: off)";
            decided = CompletableFuture.completedFuture(null);
            return;
        }
        if (settings.dnssec() == DnssecMode.VALIDATE) {
            validating = true;
            dnssecNote = "DNSSEC validation is on (dns.dnssec: validate)";
            decided = CompletableFuture.completedFuture(null);
        } else {
            // Decided before the first question is answered; questions wait for it, never go unvalidated meanwhile.
            decided = new CompletableFuture<>();
            Thread probe = new Thread(() -> {
                try {
                    recheckDnssec();
                } finally {
                    decided.complete(null);
                }
            }, "mxd-dnssec-probe");
            probe.setDaemon(true);
            probe.start();
        }
    }

    private List<Upstream> upstreams(List<InetSocketAddress> servers) {
        List<Upstream> out = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            SimpleResolver r = new SimpleResolver(server);
            r.setTimeout(settings.timeout());
            r.setEDNS(0, EDNS_UDP_PAYLOAD, 0, List.of());
            out.add(new Upstream(server, r, settings.dnssec() == DnssecMode.OFF ? null : validatorFor(server, anchors),
                    new java.util.concurrent.atomic.AtomicLong()));
        }
        return List.copyOf(out);
    }

    /** The servers asked now. */
    public List<InetSocketAddress> servers() {
        return upstreams.stream().map(Upstream::address).toList();
    }

    /**
     * At most every {@link #SOURCE_CHECK_NANOS}: when the source's file changed, its servers are read
     * again and asked from then on, and the cache is emptied (new servers may see another view of DNS).
     * A file that names no server, or cannot be read, keeps the servers in use.
     */
    private void followSource() {
        if (source.isEmpty() || nanoClock.getAsLong() - nextSourceCheck < 0) {
            return; // the usual case, without the lock
        }
        synchronized (sourceLock) {
            long now = nanoClock.getAsLong();
            if (now - nextSourceCheck < 0) {
                return;
            }
            nextSourceCheck = now + SOURCE_CHECK_NANOS;
            Object stamp = stamp(source.get().file());
            if (java.util.Objects.equals(stamp, sourceStamp)) {
                return;
            }
            List<InetSocketAddress> next;
            try {
                next = source.get().servers().get();
            } catch (RuntimeException e) {
                log.warn("{} changed but cannot be read ({}); still asking {}", source.get().file(), e.toString(), servers());
                return; // the stamp is not taken: read again at the next look
            }
            sourceStamp = stamp;
            if (next.isEmpty() || next.equals(servers())) {
                return; // no nameserver line (a file being rewritten, say): the servers in use stay
            }
            log.info("DNS servers from {} changed: asking {} (was {})", source.get().file(), next, servers());
            upstreams = upstreams(next);
            cache.clear(); // another view of DNS (a VPN's split horizon): the old servers' answers, NXDOMAIN too, go
        }
        // Whether the new servers serve DNSSEC is decided for them (auto): validating through a server that strips
        // signatures would find every answer bogus and defer all mail. Outside the lock: other questions go on meanwhile.
        recheckDnssec(true);
    }

    private static Object stamp(java.nio.file.Path file) {
        try {
            java.nio.file.attribute.BasicFileAttributes a = java.nio.file.Files.readAttributes(file,
                    java.nio.file.attribute.BasicFileAttributes.class);
            return List.of(a.lastModifiedTime(), a.size(), String.valueOf(a.fileKey()));
        } catch (IOException gone) {
            return null;
        }
    }

    private Resolver validatorFor(InetSocketAddress server, List<Record> anchors) {
        SimpleResolver head = new SimpleResolver(server);
        head.setTimeout(settings.timeout());
        ValidatingResolver v = new ValidatingResolver(head);
        v.setAddReasonToAdditional(true);
        head.setEDNS(0, EDNS_UDP_PAYLOAD, ExtendedFlags.DO, List.of());
        StringBuilder text = new StringBuilder();
        for (Record r : anchors) {
            text.append(r).append('\n');
        }
        try {
            v.loadTrustAnchors(new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new IllegalArgumentException("trust anchors could not be loaded: " + e.getMessage(), e);
        }
        return v;
    }

    /** Whether answers are validated now (always in validate, after a successful check in auto, never in off). */
    public boolean validating() {
        awaitDecision();
        return validating;
    }

    /** One sentence on the state of DNSSEC validation and why, for the log and {@code /health}. */
    public String dnssecNote() {
        awaitDecision();
        return dnssecNote;
    }

    /**
     * In {@link DnssecMode#AUTO}: asks every server for the DNSKEY records of every trust anchor's zone through the
     * validating resolver; validation is on when all of them come back secure, and off (said in the log) when a
     * server answers them without valid signatures. A check that gets no answer, SERVFAIL, REFUSED or a bogus
     * reply decides nothing: validation stays as it was and, while off, is checked again within a minute.
     * Call at start-up (the constructor does) and every hour. Does nothing in the other modes.
     */
    public boolean recheckDnssec() {
        return recheckDnssec(false);
    }

    /**
     * As {@link #recheckDnssec()}; {@code fresh}: the servers changed (a local change, not an answer an
     * attacker could forge), so the decision is made anew, as at start, and may turn validation off.
     */
    private synchronized boolean recheckDnssec(boolean fresh) { // the start's probe, the timer and a change of servers
        if (settings.dnssec() != DnssecMode.AUTO) {
            return validating;
        }
        Set<Name> zones = new LinkedHashSet<>();
        for (Record r : settings.trustAnchors().isEmpty() ? RootAnchors.records() : settings.trustAnchors()) {
            zones.add(r.getName());
        }
        String failure = null;
        boolean silent = false;
        boolean dropped = false;
        boolean inconclusive = false;
        // One server timeout a server, so a dead server delays the start (and mxd lookup) by that much only.
        outer:
        for (Name zone : zones) {
            int silentServers = 0;
            for (Upstream u : upstreams) {
                Exchange ex = exchangeWith(List.of(u), true, zone, Type.DNSKEY, nanoClock.getAsLong() + settings.timeout().toNanos());
                if (ex.failure != null && ex.dropped) {
                    // nothing came back from this one: ask the next; only when none of them answers is the check silent
                    silentServers++;
                    failure = "the DNSKEY records of " + display(zone) + " could not be validated: " + ex.failure;
                    continue;
                }
                if (ex.failure != null) {
                    // No answer, SERVFAIL, REFUSED or a bogus reply: one dropped or forged packet can make any of
                    // them, so none is a verdict on the servers. Only an answer that came back without valid
                    // signatures (below) says the servers cannot do DNSSEC.
                    failure = "the DNSKEY records of " + display(zone) + " could not be validated: " + ex.failure;
                    silent = !ex.heard;
                    inconclusive = true;
                    break outer;
                }
                if (ex.status != DnssecStatus.SECURE) {
                    failure = ex.server + " does not serve the DNSKEY records of " + display(zone) + " with valid signatures";
                    break outer;
                }
            }
            if (silentServers == upstreams.size()) {
                // none of them said anything: the check heard nothing (dropped on the way, or every server down)
                silent = true;
                dropped = true;
                inconclusive = true;
                break;
            }
            // some said nothing and every other served the keys signed: those that answered decide (a silent one is no
            // verdict either way: a stale resolv.conf line, or one server's answers dropped, must not turn it off)
            failure = null;
        }
        boolean before = validating;
        if (provisional) {
            // On since a start-up check that got no answer at all: the first check that hears the servers decides, as
            // the start-up check would have; another silent one keeps validation on
            if (failure != null && dropped) {
                retrySoon = true;
                return true;
            }
            provisional = false;
            fresh = true;
        } else if (failure != null && dropped && (fresh || !checkedOnce && !validating)) {
            // The start-up check (or the first one after the servers changed) got no answer at all from any server (its
            // packets dropped, or the servers down): validation is on until a check hears them. Off here, an attacker
            // who drops the DNSKEY questions would get mail delivered without DNSSEC or DANE; on, the same drops make
            // lookups fail for now and mail waits. Checked again in a minute.
            provisional = true;
            checkedOnce = true;
            retrySoon = true;
            validating = true;
            cache.clear();
            dnssecNote = "DNSSEC validation is on until a check hears the DNS servers (dns.dnssec: auto): no server answered the"
                    + (fresh ? " check after the servers changed: " : " start-up check: ") + failure
                    + (checkedAgain ? "; checked again in a minute" : "");
            log.warn("{}", dnssecNote);
            return true;
        }
        boolean was = !fresh && validating;
        if (failure != null && (inconclusive || was)) {
            // An inconclusive check says nothing about the servers (one dropped or forged packet must not switch
            // validation off for an hour: checked again in a minute), and once validation is on, only a restart
            // turns it off: an attacker who forges or drops the answers to one hourly check must not get an hour
            // without it.
            boolean first = !checkedOnce;
            checkedOnce = true;
            String note = "DNSSEC validation " + (was ? "stays on" : "is off") + " (dns.dnssec: auto): the last check "
                    + (silent ? "got no answer" : "failed") + ": " + failure + (was ? "; a restart decides anew" : "")
                    + ((first || !was) && checkedAgain ? "; checked again in a minute" : "");
            retrySoon = inconclusive && !was;
            if (!note.equals(dnssecNote)) {
                log.warn("{}", note); // once per change, not every minute while a server keeps refusing
            }
            dnssecNote = note;
            if (fresh && validating) {
                validating = false; // new servers that did not show they can: off, checked again in a minute
                cache.clear();
            }
            return validating;
        }
        checkedOnce = true;
        retrySoon = false;
        validating = failure == null;
        if (validating) {
            dnssecNote = "DNSSEC validation is on (dns.dnssec: auto): the DNS servers serve the trust anchors' keys signed";
        } else {
            dnssecNote = "DNSSEC validation is off (dns.dnssec: auto): " + failure;
        }
        if (validating) {
            log.info("{}", dnssecNote);
        } else {
            log.warn("{}", dnssecNote);
        }
        if (before != validating) {
            cache.clear();
        }
        return validating;
    }

    /**
     * In {@link DnssecMode#AUTO}, runs {@link #recheckDnssec()} every {@code period} on a daemon thread until the
     * returned handle is closed; in the other modes there is nothing to re-check and the handle does nothing.
     */
    public AutoCloseable recheckDnssecEvery(Duration period) {
        if (settings.dnssec() != DnssecMode.AUTO) {
            return () -> { };
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mxd-dnssec-recheck");
            t.setDaemon(true);
            return t;
        });
        // Every period; every minute while the last check was inconclusive (no answer, SERVFAIL, REFUSED, bogus).
        long step = Math.min(period.toMillis(), Duration.ofMinutes(1).toMillis());
        long[] sinceCheck = {0};
        timer.scheduleWithFixedDelay(() -> {
            sinceCheck[0] += step;
            if (sinceCheck[0] < period.toMillis() && !retrySoon) {
                return;
            }
            sinceCheck[0] = 0;
            try {
                recheckDnssec();
            } catch (RuntimeException e) {
                log.warn("DNSSEC re-check failed: {}", e.toString()); // the next one still runs
            }
        }, step, step, TimeUnit.MILLISECONDS);
        return timer::shutdownNow;
    }

    private void awaitDecision() {
        try {
            decided.get(settings.deadline().toNanos() * 2, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // The probe is bounded by the deadline itself; past twice that, go on as decided so far (off).
        }
    }

    public DnsSettings settings() {
        return settings;
    }

    /** Answers from the cache. */
    public long cacheHits() {
        return cache.hits();
    }

    /** Questions the cache could not answer. */
    public long cacheMisses() {
        return cache.misses();
    }

    /** Messages sent to upstream servers (each try counts). */
    public long queriesSent() {
        return queriesSent.sum();
    }

    /** Asks for records of {@code type} at {@code name}, following CNAMEs. Never throws for DNS trouble. */
    public DnsAnswer query(Name name, int type) {
        return query(name, type, deadline());
    }

    /** Now, on the clock {@link #deadline()} counts on. */
    public long now() {
        return nanoClock.getAsLong();
    }

    /**
     * A TTL as a cache may use it: one with the top bit set (2^31 seconds or more, as dnsjava reads any 32 bits) is
     * taken as zero, as RFC 2181 §8 says, not as the longest time there is.
     */
    static long ttlOf(long ttl) {
        return ttl > Integer.MAX_VALUE ? 0 : ttl;
    }

    /** The {@link System#nanoTime()} by which a question asked now must be answered. */
    public long deadline() {
        return deadline(1);
    }

    /** The {@link System#nanoTime()} by which {@code questions} questions' budgets (asked one after another) run out. */
    public long deadline(int questions) {
        return nanoClock.getAsLong() + questions * settings.deadline().toNanos();
    }

    /**
     * The answer to the question if the cache holds it, without waiting or asking anyone; null when it would
     * have to be asked (also while the start-up's DNSSEC decision is still open). Not counted in
     * {@link #cacheHits()} or {@link #cacheMisses()}.
     */
    public DnsAnswer cached(Name name, int type) {
        if (!decided.isDone()) {
            return null;
        }
        return cache.peek(name, type, validating);
    }

    /** As {@link #query(Name, int)}, giving up at {@code deadline} (a {@link #deadline()} shared by several questions). */
    public DnsAnswer query(Name name, int type, long deadline) {
        awaitDecision();
        followSource();
        // The mode is read once: every step of this question, and its cache entry, are made under it.
        boolean validated = validating;
        DnsAnswer cached = cache.get(name, type, validated);
        if (cached != null) {
            return cached;
        }
        List<Name> aliases = new ArrayList<>();
        long ttl = settings.maxTtl().toSeconds();
        Name current = name;
        DnssecStatus status = null;
        while (true) {
            Exchange ex = exchangeWith(upstreams, validated, current, type, deadline);
            if (ex.failure != null) {
                return new DnsAnswer.Failed(name, aliases, ex.failure, ex.status);
            }
            status = status == null ? ex.status : status.and(ex.status);
            Message response = ex.response;
            Name owner = current;
            while (true) {
                List<Record> found = new ArrayList<>();
                CNAMERecord alias = null;
                for (Record r : response.getSection(Section.ANSWER)) {
                    if (!r.getName().equals(owner)) {
                        continue;
                    }
                    if (r.getType() == type) {
                        found.add(r);
                    } else if (r.getType() == Type.CNAME && type != Type.CNAME) {
                        alias = (CNAMERecord) r;
                    }
                }
                if (!found.isEmpty()) {
                    for (Record r : found) {
                        ttl = Math.min(ttl, ttlOf(r.getTTL()));
                    }
                    DnsAnswer answer = new DnsAnswer.Found(name, aliases, found, status);
                    cache.put(name, type, answer, ttl, validated);
                    return answer;
                }
                if (alias == null) {
                    break;
                }
                Name target = alias.getTarget();
                if (target.equals(name) || aliases.contains(target)) {
                    return new DnsAnswer.Failed(name, aliases, "CNAME loop at " + display(owner) + " -> " + display(target),
                            status);
                }
                if (aliases.size() >= settings.maxCnameChain()) {
                    return new DnsAnswer.Failed(name, aliases, "CNAME chain from " + display(name)
                            + " is longer than " + settings.maxCnameChain() + " aliases", status);
                }
                aliases.add(target);
                ttl = Math.min(ttl, ttlOf(alias.getTTL()));
                owner = target;
            }
            SOARecord soa = soaOf(response);
            long negativeTtl = soa == null ? 0 : Math.min(ttl, Math.min(ttlOf(soa.getTTL()), ttlOf(soa.getMinimum())));
            if (response.getRcode() == Rcode.NXDOMAIN) {
                DnsAnswer answer = new DnsAnswer.NoSuchName(name, aliases, status);
                cache.put(name, type, answer, negativeTtl, validated);
                return answer;
            }
            if (soa != null) {
                DnsAnswer answer = new DnsAnswer.NoData(name, aliases, status);
                cache.put(name, type, answer, negativeTtl, validated);
                return answer;
            }
            if (!owner.equals(current)) {
                current = owner; // the server stopped at the edge of its data; ask for the alias target
                continue;
            }
            if (isReferral(response)) {
                return new DnsAnswer.Failed(name, aliases, ex.server + " referred the question for " + display(current)
                        + " elsewhere instead of answering it (not a recursive resolver and not authoritative)", status);
            }
            // NODATA without SOA: RFC 2308 §5 says not to cache it.
            return new DnsAnswer.NoData(name, aliases, status);
        }
    }

    private static boolean isReferral(Message response) {
        return !response.getHeader().getFlag(Flags.AA)
                && response.getSection(Section.AUTHORITY).stream().anyMatch(r -> r.getType() == Type.NS);
    }

    private static SOARecord soaOf(Message response) {
        for (Record r : response.getSection(Section.AUTHORITY)) {
            if (r instanceof SOARecord soa) {
                return soa;
            }
        }
        return null;
    }

    /**
     * @param heard   whether any server answered at all (a failure after an answer is a verdict, not silence)
     * @param dropped nothing came back at all, not even a refusal of the port: every question timed out, as when the
     *                packets are dropped on the way
     */
    private record Exchange(Message response, String server, String failure, DnssecStatus status, boolean heard, boolean dropped) {
        Exchange(Message response, String server, String failure, DnssecStatus status, boolean heard) {
            this(response, server, failure, status, heard, false);
        }

        Exchange(Message response, String server, String failure, DnssecStatus status) {
            this(response, server, failure, status, response != null);
        }

        Exchange(Message response, String server, String failure) {
            this(response, server, failure, DnssecStatus.INSECURE);
        }
    }

    /** One question to the servers in turn, round after round, until an answer or the deadline. */
    private Exchange exchangeWith(List<Upstream> given, boolean validating, Name qname, int type, long deadline) {
        List<Upstream> servers = byRecentSilence(given);
        // Each server's last problem, in the order asked: one server's SERVFAIL is not hidden by another's REFUSED.
        Map<String, String> problems = new LinkedHashMap<>();
        String bogus = null;
        boolean heard = false;
        boolean onlyTimeouts = true; // every question went unanswered: no reply, no refused port
        for (int round = 0; round < settings.attempts(); round++) {
            for (int i = 0; i < servers.size(); i++) {
                Resolver resolver = validating ? servers.get(i).validating() : servers.get(i).plain();
                boolean validated = resolver instanceof ValidatingResolver;
                String server = describe(servers.get(i).address());
                long remaining = deadline - nanoClock.getAsLong();
                if (remaining <= 0) {
                    return new Exchange(null, server, "no answer in time for " + display(qname) + "/" + Type.string(type)
                            + " (" + problems(problems) + ")", bogus != null ? DnssecStatus.BOGUS : DnssecStatus.INSECURE,
                            heard, !heard && onlyTimeouts);
                }
                Message query = Message.newQuery(Record.newRecord(qname, type, DClass.IN));
                queriesSent.increment();
                try {
                    long wait = Math.min(remaining, settings.timeout().toNanos() * 2 + 100_000_000L);
                    Message response = resolver.sendAsync(query).toCompletableFuture().get(wait, TimeUnit.NANOSECONDS);
                    heard = true;
                    servers.get(i).silentUntil().set(0);
                    int rcode = response.getRcode();
                    String reason = validated ? bogusReason(response) : null;
                    if (reason != null) {
                        // RFC 4035 §4.3: bogus data is never used; another server may still give the true answer.
                        bogus = "DNSSEC validation of " + display(qname) + "/" + Type.string(type) + " from " + server
                                + " failed (bogus): " + reason;
                        problems.put(server, bogus);
                    } else if (response.getHeader().getFlag(Flags.TC)) {
                        problems.put(server, server + " sent a truncated answer even over TCP");
                    } else if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                        DnssecStatus status = validated && response.getHeader().getFlag(Flags.AD)
                                ? DnssecStatus.SECURE : DnssecStatus.INSECURE;
                        return new Exchange(response, server, null, status);
                    } else {
                        problems.put(server, server + " answered " + Rcode.string(rcode) + " for " + display(qname) + "/"
                                + Type.string(type));
                    }
                } catch (TimeoutException e) {
                    problems.put(server, "timeout waiting for " + server);
                    if (remaining >= settings.timeout().toNanos()) { // not when the question's budget cut the wait short
                        servers.get(i).silentUntil().set(nanoClock.getAsLong() + SILENT_NANOS);
                    }
                } catch (ExecutionException e) {
                    problems.put(server, describe(e.getCause(), server));
                    if (timeout(e.getCause())) {
                        servers.get(i).silentUntil().set(nanoClock.getAsLong() + SILENT_NANOS);
                    } else {
                        onlyTimeouts = false;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Exchange(null, server, "interrupted while waiting for " + server);
                }
            }
        }
        return bogus != null ? new Exchange(null, null, bogus, DnssecStatus.BOGUS, heard)
                : new Exchange(null, null, problems(problems), DnssecStatus.INSECURE, heard, !heard && onlyTimeouts);
    }

    private static String problems(Map<String, String> byServer) {
        return byServer.isEmpty() ? "no DNS server answered" : String.join("; ", byServer.values());
    }

    /**
     * The validator's reason when it found the answer bogus (a SERVFAIL carrying its reason record), else null.
     * The validator also answers SERVFAIL with a reason when the server's own answer was SERVFAIL, REFUSED or
     * another error ("Response subtype is UNKNOWN and thus cannot be validated"): that is the server's failure,
     * as it would be without validation (a temporary failure, an address family skipped), not bogus data.
     */
    private static String bogusReason(Message response) {
        if (response.getRcode() != Rcode.SERVFAIL) {
            return null;
        }
        for (Record r : response.getSection(Section.ADDITIONAL)) {
            if (r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS && r instanceof TXTRecord txt) {
                String reason = String.join(" ", txt.getStrings());
                return reason.startsWith(UPSTREAM_ERROR) ? null : reason;
            }
        }
        return null;
    }

    /** How dnsjava's validator words an answer it could not classify: the server's own error rcode. */
    private static final String UPSTREAM_ERROR = "Response subtype is UNKNOWN";

    private static boolean timeout(Throwable cause) {
        return cause instanceof SocketTimeoutException || cause instanceof TimeoutException
                || (cause != null && cause.getClass().getSimpleName().contains("Timeout"));
    }

    private String describe(Throwable cause, String server) {
        if (timeout(cause)) {
            return "timeout after " + settings.timeout().toMillis() + " ms waiting for " + server;
        }
        if (cause instanceof PortUnreachableException) {
            return "no DNS server listening at " + server;
        }
        String msg = cause == null ? "unknown error" : cause.getMessage();
        return "error talking to " + server + ": " + (msg == null ? cause.getClass().getSimpleName() : msg);
    }

    static String describe(InetSocketAddress a) {
        String host = a.getAddress() != null ? dev.mxd.smtp.AddressText.of(a.getAddress()) : a.getHostString();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + a.getPort() : host + ":" + a.getPort();
    }

    static String display(Name name) {
        String s = name.toString(true);
        return s.isEmpty() ? "." : s.toLowerCase(java.util.Locale.ROOT);
    }
}
