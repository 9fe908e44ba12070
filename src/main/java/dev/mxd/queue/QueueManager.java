package dev.mxd.queue;

import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.EnhancedStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix's qmgr for mxd: takes messages from {@code incoming/} as they arrive and from
 * {@code deferred/} when they are due, hands each message's recipients to the delivery
 * agent of their destination (local mailboxes, or one remote domain per group, so all
 * recipients of a domain go in one SMTP transaction), persists every recipient's new state
 * before anything else happens to the message, and files the message by what is left:
 * removed when every recipient is done, deferred until its next attempt, or bounced when
 * its queue lifetime runs out.
 *
 * <p>Message ids are held in memory, at most {@code settings.activeLimit()} waiting for a worker (as
 * many again, up to 1,000, for the local lane) and as many set aside for a destination, and for a message accepted a moment ago its envelope's bytes
 * as written, when they are at most {@value #KEPT_ENVELOPE_BYTES} bytes (a few recipients), so the
 * first attempt need not read the file back; the deferred queue is found by directory scans.
 *
 * <p>A worker never waits for a destination. As Postfix's qmgr keeps a queue per destination,
 * a message whose destination has {@code perDestination} deliveries running is set aside on that
 * destination's waiting list and the worker takes other work; the destination hands its next
 * free slot to the first message waiting for it. A message with several destinations delivers to
 * those with room and waits for the rest; each attempt's recipient states are on disk already.
 */
public final class QueueManager implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(QueueManager.class);

    /**
     * How old an envelope in incoming/ must be before a scan takes it. The spool's own commits in
     * progress are passed over by name ({@link Spool#committing}), and another process's
     * ({@code mxd quarantine release}) are dated ahead until it moves them to deferred/
     * ({@link Spool#attach}); this is a margin for anything else. Mail that found the ready queue
     * full when it arrived waits no longer than this once there is room.
     */
    static final Duration INCOMING_GRACE = Duration.ofSeconds(5);

    /** Beyond the latest a queue file is ever dated: a file dated later still was dated before the clock was set back. */
    static final Duration CLOCK_MARGIN = Duration.ofMinutes(1);

    /**
     * @param concurrency    deliveries at once (a message for several destinations takes one for each delivered at the same time)
     * @param perDestination deliveries at once to one destination (a remote domain, or local mailboxes)
     * @param retry          retry timing and queue lifetime
     * @param scanInterval   how often {@code deferred/} is scanned for due messages
     * @param activeLimit    message ids waiting for a worker at most, and as many waiting for a destination's
     *                       slot; scans bring in mail from disk only while fewer than this many are held
     *                       in all, as Postfix's qmgr_message_active_limit; more wait on disk
     */
    public record Settings(int concurrency, int perDestination, RetryPolicy retry, Duration scanInterval, int activeLimit) {
        public Settings {
            if (concurrency < 1 || perDestination < 1 || activeLimit < 1) {
                throw new IllegalArgumentException("concurrency, per-destination concurrency and active limit must be at least 1");
            }
        }

        public static Settings defaults() {
            return new Settings(100, 20, RetryPolicy.defaults(), Duration.ofSeconds(30), 10_000);
        }
    }

    private final Spool spool;
    private final Settings settings;
    private final DeliveryAgent local;
    private final DeliveryAgent remote;
    private final DeliveryNotices notices;
    private final Clock clock;

    private final LinkedBlockingDeque<String> ready;
    /** Every id held in memory: ready for a worker, being delivered, or waiting for a destination. */
    private final Set<String> scheduled = ConcurrentHashMap.newKeySet();

    // Per-destination limits: slots in use, the messages set aside until one is free, and the
    // slots handed to a woken message that has not started yet.
    // Counted by Destination.slotKey(): domains relayed through one next hop share its slots. A reservation and its
    // release use the same Destination, whose next hop was fixed when its group was made, so a reload that changes
    // relay-host cannot make them count against different slots.
    private final Map<Object, Slots> destinations = new ConcurrentHashMap<>();
    /** For a message set aside after delivering to some destinations: those still to try in this round. */
    private final Map<String, Set<Destination>> owed = new ConcurrentHashMap<>();
    /** A destination's slot handed to a waiting message (queue id to destination), taken when it starts. */
    private final Map<String, Destination> granted = new ConcurrentHashMap<>();
    /**
     * Outcomes of an attempt that could not be written (disk full, I/O error), by queue id: the
     * next attempt writes them first and delivers only what they leave, so a recipient already
     * delivered is not delivered again and a failure's notice is not lost while mxd runs. (After
     * a crash the envelope on disk decides: a duplicate, never a loss.)
     */
    private final Map<String, Unrecorded> unrecorded = new ConcurrentHashMap<>();
    /**
     * Messages a spool fault left in active/ (their attempt failed and so did filing them back),
     * with that fault: no scan looks in active/, so the regular scans file them back once the
     * spool takes changes again, instead of the next start.
     */
    private final Map<String, Throwable> stranded = new ConcurrentHashMap<>();
    /**
     * Messages just accepted, by queue id: their envelope as the spool wrote it, so that the first
     * attempt does not read back the file written a moment before. Held only while the id waits
     * for its first attempt (at most three times the active limit, each at most {@value #KEPT_ENVELOPE_BYTES}
     * bytes: a larger envelope, of many recipients, is read from disk instead); used only while the envelope is still in
     * {@code incoming/}, where nothing rewrites it. Anywhere else, and after a restart, the disk decides.
     */
    private final Map<String, Spool.Accepted> fresh = new ConcurrentHashMap<>();
    /** The largest envelope kept in memory for its first attempt: 20,000 of them stay under 40 MB. */
    static final int KEPT_ENVELOPE_BYTES = 2048;

    /** Recipient states newer than the envelope on disk, and the failures whose notice is not spooled yet. */
    private record Unrecorded(Envelope envelope, List<RecipientStatus> toReport) {}
    /** Ids on all waiting lists together (at most the active limit). */
    private final AtomicInteger waiting = new AtomicInteger();
    private final Semaphore workers;
    private final ExecutorService pool;
    // a message's further destinations, delivered beside its first (attemptAll); threads come and go with the work,
    // and when none can be had the message's own thread delivers them after its first
    private final java.util.concurrent.ThreadPoolExecutor fanout;
    private final Thread scheduler;
    /**
     * A lane of its own for mail to local mailboxes only, taken when every worker is busy: remote deliveries that wait
     * on silent DNS servers or slow next hops (each MX lookup without an answer holds its worker for the DNS timeout)
     * held up a message for a local mailbox behind them for minutes, where Postfix's local transport has a process
     * limit of its own. {@link #LOCAL_LANE} threads beside delivery.concurrency; the ids go to {@link #readyLocal}.
     */
    static final int LOCAL_LANE = 4;
    private final LinkedBlockingDeque<String> readyLocal;
    private final Semaphore localWorkers = new Semaphore(LOCAL_LANE);
    private final Thread localDispatcher;
    private final Thread sweeper; // empties spare files that kept a finished text (Spool#tidy), apart from the scheduler
    private final AtomicInteger busy = new AtomicInteger();
    private final List<DeliveryListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<FlushListener> flushListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /**
     * Taking a message into active/ and an operator's command on it never interleave (see
     * {@link QueueChange}). Striped by queue id: one lock for all would make every worker wait for
     * the others' renames, which the kernel serialises behind journal commits under load.
     */
    private final Object[] claims = new Object[64];
    private volatile boolean running = true;
    /** How long a stop waits for the deliveries running before it cuts them short ({@link #close}). */
    private volatile Duration drain = Duration.ofSeconds(30);
    /** The stop's drain ran out and the deliveries still running were cut short: what they defer is due at the start. */
    private volatile boolean cutAtStop;
    private volatile long nextScanNanos;
    private volatile boolean backlog; // the last scan filled the ready queue: more is waiting on disk
    private volatile long backlogPausedUntil = System.nanoTime(); // no early scan for the backlog before this (spool faults)
    private int turnsFrom; // where the next scan of a full active limit starts in deferred/ (scheduler thread only)

    public QueueManager(Spool spool, Settings settings, DeliveryAgent local, DeliveryAgent remote,
                        DeliveryNotices notices, Clock clock) {
        this(spool, settings, local, remote, notices, clock,
                dev.mxd.mail.WorkerPool.start("mxd-delivery", settings.concurrency() + LOCAL_LANE));
    }

    /** With the threads that run the deliveries given (tests: a pool that cannot start a thread). */
    QueueManager(Spool spool, Settings settings, DeliveryAgent local, DeliveryAgent remote,
                 DeliveryNotices notices, Clock clock, ExecutorService pool) {
        this.spool = spool;
        this.settings = settings;
        this.local = local;
        this.remote = remote;
        this.notices = notices;
        this.clock = clock;
        this.ready = new LinkedBlockingDeque<>(settings.activeLimit());
        this.readyLocal = new LinkedBlockingDeque<>(Math.min(1000, settings.activeLimit()));
        this.workers = new Semaphore(settings.concurrency());
        this.pool = pool;
        AtomicInteger fanoutThreads = new AtomicInteger();
        this.fanout = new java.util.concurrent.ThreadPoolExecutor(0, settings.concurrency(), 30, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), r -> daemon(r, "mxd-delivery-also-" + fanoutThreads.incrementAndGet()));
        this.scheduler = daemon(this::schedule, "mxd-qmgr");
        this.localDispatcher = daemon(this::dispatchLocal, "mxd-qmgr-local");
        this.sweeper = daemon(this::sweep, "mxd-spares");
        for (int i = 0; i < claims.length; i++) {
            claims[i] = new Object();
        }
    }

    private Object claim(String id) {
        return claims[Math.floorMod(id.hashCode(), claims.length)];
    }

    /** Starts with what the spool holds (incoming first, then due deferred mail), then takes new mail as it arrives. */
    public void start() throws IOException {
        spool.onAcceptedEnvelope(this::offerAccepted);
        for (String id : spool.ids(QueueState.INCOMING)) {
            offer(id);
        }
        scanDeferred(true);
        scheduler.start();
        localDispatcher.start();
        sweeper.start();
    }

    /** Tells {@code listener} of every recipient's delivery outcome from now on. */
    public void onDelivery(DeliveryListener listener) {
        listeners.add(listener);
    }

    /** Tells {@code listener} of every operator's flush, before the mail it makes due is tried. */
    public void onFlush(FlushListener listener) {
        flushListeners.add(listener);
    }

    /** Whether the scheduler and the local lane's dispatcher are running (for /health). */
    public boolean running() {
        return running && scheduler.isAlive() && localDispatcher.isAlive();
    }

    /** Asks for every deferred message to be tried now (the operator's {@code flush}); returns how many. */
    public int flush() throws IOException {
        for (FlushListener l : flushListeners) {
            l.flushedAll();
        }
        Instant now = clock.instant();
        int n = 0;
        IOException first = null;
        int failed = 0;
        for (String id : spool.ids(QueueState.DEFERRED)) {
            try {
                spool.defer(id, QueueState.DEFERRED, now);
                n++;
            } catch (java.nio.file.NoSuchFileException takenMeanwhile) {
                // picked up for delivery (or deleted) since the listing: nothing to hurry
            } catch (IOException e) {
                // One file that cannot be dated (another user's, a failing disk) keeps neither the rest from being made
                // due nor the scan from coming at once, as one bad queue file does not stop Postfix's postqueue -f.
                LOG.warn("{}: flush passes it over: {}", id, e.toString());
                first = first == null ? e : first;
                failed++;
            }
        }
        nextScanNanos = 0;
        if (first != null) {
            throw new IOException(n + " message(s) made due; " + failed + " could not be: " + fileProblem(first)
                    + (failed > 1 ? " (and " + (failed - 1) + " more: see the log)" : ""), first);
        }
        return n;
    }

    /** A file's problem in words: the JDK says only the path of a file it may not touch. */
    private static String fileProblem(IOException e) {
        if (e instanceof java.nio.file.FileSystemException fs && fs.getFile() != null) {
            String owner = "";
            try {
                owner = " (owner " + java.nio.file.Files.getOwner(java.nio.file.Path.of(fs.getFile())).getName() + ", mxd runs as "
                        + System.getProperty("user.name") + ")";
            } catch (IOException | UnsupportedOperationException unknown) {
                // said without it
            }
            String reason = fs.getReason() != null ? fs.getReason()
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getClass().getSimpleName();
            return fs.getFile() + ": " + reason + owner;
        }
        return e.toString();
    }

    /**
     * Asks for the deferred mail to one remote domain to be tried now (the operator's
     * {@code flush --domain}, Postfix's {@code postqueue -s}); returns how many messages. The
     * domain's MX hosts are forgotten first; a message that also goes elsewhere is tried for
     * all its destinations, as any attempt is. Mail on hold stays on hold.
     */
    public int flushDestination(String domain) throws IOException {
        String wanted = domainName(domain);
        for (FlushListener l : flushListeners) {
            l.flushed(Set.of(wanted));
        }
        Instant now = clock.instant();
        int n = 0;
        for (String id : spool.ids(QueueState.DEFERRED)) {
            try {
                boolean goes = byDestination(spool.envelope(QueueState.DEFERRED, id)).keySet().stream()
                        .anyMatch(d -> d instanceof Destination.Domain dd && domainName(dd.name()).equals(wanted));
                if (goes) {
                    spool.defer(id, QueueState.DEFERRED, now);
                    n++;
                }
            } catch (java.nio.file.NoSuchFileException takenMeanwhile) {
                // picked up for delivery (or deleted) since the listing: nothing to hurry
            } catch (IOException | RuntimeException unreadable) {
                LOG.warn("{}: flush of {}: the envelope cannot be read ({}); passed over", id, wanted, dev.mxd.smtp.LogText.safe(unreadable));
            }
        }
        if (n > 0) {
            nextScanNanos = 0;
        }
        LOG.info("flush of {}: {} deferred message(s) due now", wanted, n);
        return n;
    }

    /** A domain as flushes compare them: A-labels, lower case, no final dot (bücher.example is xn--bcher-kva.example). */
    private static String domainName(String domain) {
        String d = domain.trim();
        d = d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
        try {
            return dev.mxd.smtp.Idna.toAscii(d);
        } catch (IllegalArgumentException noALabel) {
            return d.toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Tries one message now: a deferred message becomes due, an incoming one is queued for a worker. */
    public QueueChange flush(String id) throws IOException {
        Set<String> destinations = remoteDestinations(id);
        if (!destinations.isEmpty()) {
            for (FlushListener l : flushListeners) {
                l.flushed(destinations);
            }
        }
        return whenIdle(id, state -> {
            if (state == QueueState.HOLD) {
                return new QueueChange.Refused(id, QueueState.HOLD, "the message is on hold; release it to deliver it");
            }
            if (state == QueueState.DEFERRED) {
                spool.defer(id, QueueState.DEFERRED, clock.instant());
            }
            offer(id);
            return new QueueChange.Done(id, state, Optional.of(state));
        });
    }

    /** The remote domains a queued message still has to reach; none when it is gone, held (no flush) or being delivered. */
    private Set<String> remoteDestinations(String id) throws IOException {
        Optional<QueueState> state = spool.state(id);
        if (state.isEmpty() || state.get() == QueueState.ACTIVE || state.get() == QueueState.HOLD) {
            return Set.of();
        }
        try {
            Set<String> domains = new java.util.TreeSet<>();
            for (Destination d : byDestination(spool.envelope(state.get(), id)).keySet()) {
                if (d instanceof Destination.Domain domain) {
                    domains.add(domain.name());
                }
            }
            return domains;
        } catch (java.nio.file.NoSuchFileException movedMeanwhile) {
            return Set.of(); // whenIdle says what became of it
        } catch (IOException | RuntimeException unreadable) {
            return Set.of(); // no hosts to forget; whenIdle still does what the state allows
        }
    }

    /** Puts a message aside (Postfix's {@code postsuper -h}): it is not delivered until released. */
    public QueueChange hold(String id) throws IOException {
        return whenIdle(id, state -> {
            if (state != QueueState.HOLD) {
                spool.move(id, state, QueueState.HOLD);
                LOG.info("{}: hold: put on hold by the operator (was {})", id, state.directory());
            }
            return new QueueChange.Done(id, state, Optional.of(QueueState.HOLD));
        });
    }

    /** Takes a message off hold (Postfix's {@code postsuper -H}): it is due at once. */
    public QueueChange release(String id) throws IOException {
        return whenIdle(id, state -> {
            if (state != QueueState.HOLD) {
                return new QueueChange.Refused(id, state, "the message is not on hold (it is " + state.directory() + ")");
            }
            spool.defer(id, QueueState.HOLD, clock.instant());
            LOG.info("{}: released from hold by the operator", id);
            offer(id);
            return new QueueChange.Done(id, QueueState.HOLD, Optional.of(QueueState.DEFERRED));
        });
    }

    /** Deletes a message for good (Postfix's {@code postsuper -d}): no delivery, no bounce. Envelope first, then text. */
    public QueueChange delete(String id) throws IOException {
        return whenIdle(id, state -> {
            spool.remove(state, id);
            unrecorded.remove(id);
            LOG.info("{}: removed by the operator (was {})", id, state.directory());
            return new QueueChange.Done(id, state, Optional.empty());
        });
    }

    /** An operator's change to a message in {@code state} (never active), made while no delivery can take it. */
    @FunctionalInterface
    private interface Change {
        QueueChange apply(QueueState state) throws IOException;
    }

    private QueueChange whenIdle(String id, Change change) throws IOException {
        synchronized (claim(id)) {
            Optional<QueueState> state = spool.state(id);
            if (state.isEmpty()) {
                return new QueueChange.NoSuchMessage(id);
            }
            if (state.get() == QueueState.ACTIVE) {
                return busy(id);
            }
            return change.apply(state.get());
        }
    }

    private static QueueChange busy(String id) {
        return new QueueChange.Refused(id, QueueState.ACTIVE,
                "the message is being delivered right now; repeat the command when this attempt ends (a few seconds, at most the delivery timeouts)");
    }

    /** Messages set aside on destinations' waiting lists until a slot frees (tests wait for this). */
    int waitingForSlots() {
        return waiting.get();
    }

    /** True when no message is waiting for a worker or a destination, or in delivery (tests and the demo wait for this). */
    public boolean idle() {
        return scheduled.isEmpty() && ready.isEmpty() && readyLocal.isEmpty() && busy.get() == 0;
    }

    /** Queues an id for a worker; false when it was queued already or the queue is full (it stays on disk). */
    private boolean offer(String id) {
        if (!scheduled.add(id)) {
            return false;
        }
        if (!ready.offer(id)) {
            scheduled.remove(id); // full: it stays on disk and a later scan finds it
            return false;
        }
        return true;
    }

    /** A message the spool has just accepted: queued with its envelope, which the first attempt uses instead of the file. */
    private void offerAccepted(Spool.Accepted accepted) {
        String id = accepted.id();
        if (accepted.envelopeJson().length > KEPT_ENVELOPE_BYTES) {
            offer(id); // many recipients: the first attempt reads the file, as every later one does
            return;
        }
        fresh.put(id, accepted); // before the offer: a worker may take the id at once
        if (!(workers.availablePermits() == 0 && localOnly(accepted) ? offerLocal(id) : offer(id))) {
            fresh.remove(id); // not queued now: whoever takes it later reads the disk
        }
    }

    /** Every recipient goes to a mailbox here (read only while every worker is busy: the usual case parses nothing more). */
    private static boolean localOnly(Spool.Accepted accepted) {
        try {
            return accepted.envelope().recipients().stream().allMatch(r -> r.recipient().route() instanceof dev.mxd.mail.Route.Local);
        } catch (IOException | RuntimeException unreadable) {
            return false; // the worker that takes it reads the disk and says what is wrong
        }
    }

    /** Queues an id for the local lane, or for the workers when the lane is full; false as {@link #offer}. */
    private boolean offerLocal(String id) {
        if (!scheduled.add(id)) {
            return false;
        }
        if (!readyLocal.offer(id) && !ready.offer(id)) {
            scheduled.remove(id);
            return false;
        }
        return true;
    }

    /** The local lane's dispatcher: as the scheduler's, with {@link #LOCAL_LANE} permits of its own. */
    private void dispatchLocal() {
        while (running) {
            try {
                String id = readyLocal.poll(200, TimeUnit.MILLISECONDS);
                if (id != null) {
                    dispatch(id, localWorkers);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // no thread for it: it went back to the workers' queue (dispatch), and the lane goes on after a pause, as
                // the scheduler does, so that a lasting fault neither spins nor logs a line for every id in the lane
                LOG.error("queue manager: local lane: {}; going on in a second", e.toString());
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException stop) {
                    return;
                }
            }
        }
    }

    /**
     * Runs an attempt for {@code id} on a pool thread with one of {@code permits} (the workers', or the local lane's),
     * waiting for a permit. With no thread to be had (the system is out of threads or memory), the message goes back to
     * the head of the workers' queue, or stays where it is on disk to be tried again once a thread can be started, and
     * the error is thrown on.
     */
    private void dispatch(String id, Semaphore permits) throws InterruptedException {
        busy.incrementAndGet();
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            busy.decrementAndGet();
            throw e;
        }
        try {
            pool.execute(() -> {
                try {
                    process(id); // forgets the id unless it waits for a destination
                } finally {
                    busy.decrementAndGet();
                    permits.release();
                }
            });
        } catch (RuntimeException | Error notStarted) {
            busy.decrementAndGet();
            permits.release();
            try {
                putBack(id);
            } catch (RuntimeException | Error again) {
                notStarted.addSuppressed(again);
            }
            throw notStarted;
        }
    }

    /** Four times a second: a delivered text stays in a spare file no longer than the spool's hold and this. */
    private void sweep() {
        while (running) {
            try {
                Thread.sleep(250);
                spool.tidy();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                LOG.warn("queue manager: cannot empty spare files now: {}", e.toString());
            }
        }
    }

    private void schedule() {
        while (running) {
            try {
                boolean interval = System.nanoTime() - nextScanNanos >= 0;
                if (interval && !stranded.isEmpty()) {
                    fileStranded();
                }
                if (interval || (backlog && System.nanoTime() - backlogPausedUntil >= 0
                        && scanRoom() >= Math.max(1, settings.activeLimit() / 2))) {
                    try {
                        scanDeferred(interval);
                    } catch (IOException | RuntimeException e) {
                        // the spool cannot be listed now (too many open files, say): what is in
                        // memory is still dispatched, and the scan is tried again a scan interval later
                        backlog = false;
                        LOG.error("queue manager: cannot look for due mail: {}; trying again in {}", e.toString(), settings.scanInterval());
                    }
                }
                String id = ready.poll(200, TimeUnit.MILLISECONDS);
                if (id != null) {
                    dispatch(id, workers);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // Whatever went wrong, the scheduler goes on: while it is down nothing is delivered
                // and the server still accepts mail. A pause keeps a lasting fault from spinning.
                LOG.error("queue manager: {}; going on in a second", e.toString());
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException stop) {
                    return;
                }
            }
        }
    }

    /**
     * Files back, as a failed attempt is filed, each message a spool fault left in active/ (see
     * {@link #stranded}); one still refused is tried again at the next regular scan. Under the
     * message's claim: an attempt takes a message into active/ under it, and forgets it here.
     */
    private void fileStranded() {
        for (Map.Entry<String, Throwable> s : stranded.entrySet()) {
            String id = s.getKey();
            try {
                synchronized (claim(id)) {
                    if (spool.state(id).equals(Optional.of(QueueState.ACTIVE))) {
                        fileAfterFault(id, QueueState.ACTIVE, s.getValue());
                        LOG.info("{}: filed back from active/, where a spool fault had left it", id);
                    }
                    stranded.remove(id); // filed, or somewhere a scan looks, or gone
                }
            } catch (java.nio.file.NoSuchFileException gone) {
                stranded.remove(id); // deleted by the operator meanwhile
            } catch (IOException | RuntimeException | Error stillRefused) { // the scan after this runs all the same
                LOG.warn("{}: still cannot file it back from active/ ({}); trying again at the next scan", id, stillRefused.toString());
            }
        }
    }

    /**
     * A message taken from the ready queue that no worker could start on: back to the head of the
     * queue, or, when that is full, forgotten in memory (with the destination slot it was handed,
     * if any) so that a later scan finds it on disk.
     */
    private void putBack(String id) {
        try {
            if (ready.offerFirst(id)) {
                return;
            }
        } catch (RuntimeException | Error noMemory) {
            // not even room for the queue's node: forgotten in memory as below
        }
        try {
            Destination grant = granted.remove(id);
            if (grant != null) {
                freeSlot(grant);
            }
        } finally {
            owed.remove(id);
            fresh.remove(id);
            scheduled.remove(id); // whatever else failed: the next scan may take it again
        }
    }

    /**
     * Finds work on disk: due deferred mail, and incoming mail that found the ready queue full
     * when it arrived (not while its commit is in progress: a message is not picked up between its
     * envelope's link and its 250; see {@link #INCOMING_GRACE}). A scan brings in no
     * more than {@link #scanRoom}: what it takes in stays in memory until its destination has a
     * slot, never pushed back to disk for want of room (which, with one destination's backlog,
     * read each message again and again and left the queue idle between scans). When a scan
     * leaves mail on disk, the next one runs as soon as half the room is free again, not a whole
     * scan interval later: a large queue (a destination that came back) drains at delivery speed.
     * Messages held in memory are due on disk too: the scan looks past them.
     *
     * <p>The scan of each interval takes in a tenth of the active limit even when the limit is
     * full: one slow destination's backlog that fills it must not keep every other destination's
     * due mail (and an operator's flush) on disk until it is worked off. What it brings in for the
     * full destination goes back to disk a scan interval ahead ({@link #setAside}); so that the
     * same few are not found again at every interval while the rest wait, these scans take turns
     * through {@code deferred/} ({@link Spool#dueFrom}).
     */
    private void scanDeferred(boolean interval) throws IOException {
        nextScanNanos = System.nanoTime() + settings.scanInterval().toNanos();
        int room = scanRoom();
        int tenth = Math.min(ready.remainingCapacity(), Math.max(1, settings.activeLimit() / 10));
        boolean turns = interval && room < tenth; // the limit is (nearly) full: the tenth, taking turns
        if (turns) {
            room = tenth;
        }
        if (room <= 0) {
            backlog = true;
            return;
        }
        int held = scheduled.size(); // found again by the listing (unless in active/), and passed over
        int want = room + held;
        Instant now = clock.instant();
        // The latest each directory's files are ever dated (an attached commit dates its file a minute ahead; a deferral
        // at most retry.max or a scan interval ahead), with a minute to spare: a file dated later was dated before the
        // clock was set back, and is due now rather than after the step.
        Instant latestIncoming = now.plus(Spool.ATTACHED_NOT_BEFORE).plus(CLOCK_MARGIN);
        Instant latestDeferred = now.plus(settings.retry().max().compareTo(settings.scanInterval()) > 0
                ? settings.retry().max() : settings.scanInterval()).plus(CLOCK_MARGIN);
        List<String> found = new ArrayList<>(spool.dueFrom(QueueState.INCOMING, now.minus(INCOMING_GRACE), latestIncoming,
                want, 0, id -> !spool.committing(id)).ids());
        if (turns) {
            Spool.DueWindow window = spool.dueFrom(QueueState.DEFERRED, now, latestDeferred, room, turnsFrom,
                    id -> !scheduled.contains(id));
            turnsFrom = window.next();
            found.addAll(window.ids());
        } else {
            found.addAll(spool.dueFrom(QueueState.DEFERRED, now, latestDeferred, want - found.size(), 0, id -> true).ids());
        }
        int taken = 0;
        for (String id : found) {
            if (taken >= room) {
                break;
            }
            if (offer(id)) {
                taken++;
            }
        }
        backlog = found.size() >= want || taken >= room;
    }

    /**
     * How many more messages a scan may bring in: the active limit less the ids held in memory
     * (waiting for a worker, in a worker's hands, or waiting for a destination), and no more than
     * the ready queue takes. New mail is not bound by this: it goes to the ready queue while that
     * has room.
     */
    private int scanRoom() {
        return Math.min(ready.remainingCapacity(), settings.activeLimit() - scheduled.size());
    }

    /**
     * One delivery attempt for one message: every destination it still has (in this round) that
     * has a free slot, then file it. A message none of whose destinations has room is set aside
     * untouched on disk; one that delivered to some is filed due now and waits for the others.
     */
    void process(String id) {
        boolean kept = false; // set aside: it stays in memory, waiting for a destination
        Destination grant = granted.remove(id); // a slot handed over while the message waited
        Set<Destination> owedRound = owed.remove(id);
        // a copy that can grow: a reroute below adds the local destination to it
        Set<Destination> round = owedRound == null ? null : new HashSet<>(owedRound);
        Spool.Accepted accepted = fresh.remove(id); // just accepted: its envelope as written, unless an attempt came first
        try {
            Envelope e;
            Map<Destination, List<Integer>> groups;
            Unrecorded pending; // the last attempt's outcomes that could not be written yet, if any
            synchronized (claim(id)) {
                while (true) {
                    pending = unrecorded.get(id);
                    QueueState from;
                    if (accepted != null && pending == null) {
                        // Accepted a moment ago: in incoming/ with this very envelope, unless the operator moved it
                        // since (then the rename below finds nothing and the disk decides).
                        from = QueueState.INCOMING;
                        e = accepted.envelope();
                    } else {
                        Optional<QueueState> state = spool.state(id);
                        if (state.isEmpty() || state.get() == QueueState.HOLD || state.get() == QueueState.ACTIVE) {
                            if (state.isEmpty()) {
                                unrecorded.remove(id);
                            }
                            return; // gone, held by the operator, or already being worked on
                        }
                        from = state.get();
                        e = pending != null ? pending.envelope() : spool.envelope(from, id);
                    }
                    Envelope routed = rerouted(e);
                    if (routed != e && round != null) {
                        // mail a reload moved (to its mailboxes, or off them for relay): its new destination is tried in this
                        // round too, not left for the message's next retry (hours away for old mail)
                        for (int i = 0; i < routed.recipients().size(); i++) {
                            if (!routed.recipients().get(i).recipient().route().equals(e.recipients().get(i).recipient().route())) {
                                round.add(destination(routed.recipients().get(i)));
                            }
                        }
                    }
                    e = routed;
                    groups = byDestination(e);
                    if (round != null) {
                        // by where the mail goes, not by next hop: a reload that changed relay-host since the round began
                        // changes the next hop of the destinations it still owes, not which they are
                        Set<Destination> owes = new HashSet<>();
                        round.forEach(d -> owes.add(d.withoutNextHop()));
                        groups.keySet().removeIf(d -> !owes.contains(d.withoutNextHop()));
                    }
                    Destination handed = grant;
                    if (!groups.isEmpty() && groups.keySet().stream().noneMatch(d -> sameSlots(d, handed) || hasRoom(d))) {
                        if (accepted != null) {
                            fresh.put(id, accepted); // still untouched in incoming/: its next try may use it too
                        }
                        kept = setAside(id, groups.keySet()); // when not kept, the finally below forgets the envelope
                        return;
                    }
                    try {
                        spool.activate(id, from); // no directory fsync: start-up moves active/ back to incoming/ anyway
                        stranded.remove(id); // in active/ now for this attempt, whatever left it there before
                        break;
                    } catch (java.nio.file.NoSuchFileException moved) {
                        if (accepted == null) {
                            throw moved;
                        }
                        accepted = null; // no longer in incoming/: look where it is, as for any other message
                    }
                }
            }
            Path text = spool.text(id);
            boolean pendingUnwritten = false; // the states in memory are newer than the envelope on disk
            if (pending != null) {
                try {
                    record(pending.envelope(), text, pending.toReport()); // the last attempt's outcomes first
                } catch (IOException notWritten) {
                    pendingUnwritten = true;
                    Unrecorded still = unrecorded.get(id);
                    if (still == null || !still.toReport().isEmpty()) {
                        throw notWritten; // a notice is owed: it is spooled before anything more is delivered
                    }
                    // Only the states could not be written (a full spool disk): the attempt goes on from them as kept in
                    // memory, so nothing delivered is delivered again. Waiting for room would wait for ever where only
                    // deliveries make room (a backup MX that filled up while its primary was down); a crash meanwhile
                    // repeats what the disk does not know of, as after any crash before a write.
                    LOG.warn("{}: the last attempt's outcomes cannot be written ({}); delivering from them as kept in memory",
                            id, dev.mxd.smtp.LogText.safe(notWritten));
                }
            }
            List<Destination> full = new ArrayList<>();
            // Several destinations: their failures go in one notice for the pass, as Postfix's queue
            // manager flushes a message's bounce log once, not one notice per domain.
            Pass pass = groups.size() > 1 ? new Pass() : null;
            List<Map.Entry<Destination, List<Integer>>> going = new ArrayList<>();
            for (Map.Entry<Destination, List<Integer>> group : groups.entrySet()) {
                Destination destination = group.getKey();
                if (sameSlots(destination, grant)) {
                    grant = null; // the slot handed over is used now (its next hop's, when another domain's going there too)
                } else if (!reserve(destination)) {
                    full.add(destination);
                    continue;
                }
                going.add(group);
            }
            e = attemptAll(e, text, going, pass);
            if (pass != null && !pass.reports.isEmpty()) {
                record(e, text, pass.reports); // the pass's one notice, then every state it tells of
            }
            // The spool holds every outcome now, unless the states kept in memory could not be written and no delivery of
            // this attempt wrote the envelope since (each writes it whole): then they stay for the next attempt.
            boolean keepUnrecorded = pendingUnwritten && going.isEmpty() && !e.done();
            if (full.isEmpty()) {
                file(e, text);
                if (!keepUnrecorded) {
                    unrecorded.remove(id);
                }
            } else {
                spool.defer(id, QueueState.ACTIVE, clock.instant()); // due now: a restart tries it at once
                if (!keepUnrecorded) {
                    unrecorded.remove(id); // as above; before setAside, which may hand it to another worker at once
                }
                kept = setAside(id, full);
            }
        } catch (IOException | RuntimeException | Error ex) {
            // An Error too (out of memory or threads, a stack overflow): left in active/, the
            // message would wait there for the next start; deferred, it is tried again.
            if (ex instanceof IOException) {
                LOG.error("{}: delivery attempt failed: {}; it stays queued", id, dev.mxd.smtp.LogText.safe(ex));
            } else {
                LOG.error("{}: delivery attempt failed: {}; it stays queued", id, dev.mxd.smtp.LogText.safe(ex), ex); // a bug: where it happened
            }
            try {
                synchronized (claim(id)) {
                    // in active/, or still where it was when the fault came before the attempt (an
                    // envelope that cannot be read): otherwise every scan would find it due again
                    QueueState where = spool.state(id).orElse(QueueState.HOLD);
                    boolean finished = where == QueueState.ACTIVE && !(ex instanceof IOException) && recordOwed(id, ex);
                    if (where != QueueState.HOLD && !finished) {
                        fileAfterFault(id, where, ex);
                    }
                }
            } catch (IOException again) {
                if (!(again instanceof java.nio.file.NoSuchFileException)) { // not deleted by the operator meanwhile
                    // The spool itself fails (read-only after a disk error, say): the message is still
                    // due, so a scan now would find it and fail again at once, two log lines a message
                    // for as long as it lasts. Until the next regular scan only what is in memory goes.
                    backlogPausedUntil = System.nanoTime() + settings.scanInterval().toNanos();
                    stranded.put(id, ex); // if it is in active/, the regular scans file it back
                }
                LOG.error("{}: cannot file it back as deferred ({}); where it is, it is tried again by a later scan (from"
                        + " incoming/ or deferred/; from active/, once the spool takes it back)", id, again.toString());
            }
        } finally {
            if (grant != null) {
                freeSlot(grant); // not needed after all (delivered meanwhile, held, gone): the next one gets it
            }
            if (!kept) {
                fresh.remove(id); // no longer held in memory: whoever takes it later reads the disk
                scheduled.remove(id);
                retryBy.remove(id);
                unhinted.remove(id);
            }
        }
    }

    /** Slots of one destination: deliveries running, and the messages waiting for one to end. */
    private static final class Slots {
        int active;
        final ArrayDeque<String> waiting = new ArrayDeque<>();
    }

    private Slots slots(Destination destination) {
        return destinations.computeIfAbsent(destination.slotKey(), k -> new Slots());
    }

    /** Whether {@code a} and {@code b} count against the same slots (one next hop); false for no {@code b}. */
    private static boolean sameSlots(Destination a, Destination b) {
        return b != null && a.slotKey().equals(b.slotKey());
    }

    private boolean hasRoom(Destination destination) {
        Slots s = slots(destination);
        synchronized (s) {
            return s.active < settings.perDestination();
        }
    }

    /** Takes a slot of {@code destination} if one is free; never waits. */
    private boolean reserve(Destination destination) {
        Slots s = slots(destination);
        synchronized (s) {
            if (s.active < settings.perDestination()) {
                s.active++;
                return true;
            }
            return false;
        }
    }

    /** Ends a delivery: its slot goes to the first message waiting for the destination, else it is free. */
    private void freeSlot(Destination destination) {
        Slots s = slots(destination);
        while (true) {
            String next;
            synchronized (s) {
                next = s.waiting.poll();
                if (next == null) {
                    s.active--;
                    return;
                }
                waiting.decrementAndGet();
                granted.put(next, destination);
            }
            if (ready.offerFirst(next)) {
                return;
            }
            granted.remove(next); // the ready queue is full: the message is due on disk and a scan finds it
            owed.remove(next);
            fresh.remove(next);
            scheduled.remove(next);
        }
    }

    /**
     * Puts a message on the waiting list of the first of {@code pending} (destinations with no
     * free slot), to try them when that one has room. Returns whether the message stays in memory:
     * not when all lists together hold the active limit; it is then left on disk, due again after
     * a scan interval. Scans bring in no more than there is room for ({@link #scanRoom}), so that
     * happens only to new mail that comes faster than its destination takes it.
     */
    private boolean setAside(String id, Collection<Destination> pending) throws IOException {
        Destination destination = pending.iterator().next();
        Slots s = slots(destination);
        boolean wait;
        synchronized (s) {
            wait = s.active >= settings.perDestination();
            if (wait && waiting.get() < settings.activeLimit()) {
                owed.put(id, Set.copyOf(pending));
                s.waiting.add(id);
                waiting.incrementAndGet();
                LOG.debug("{}: waits for a free slot at {} ({} waiting)", id, destination, s.waiting.size());
                return true;
            }
        }
        if (!wait) {
            owed.put(id, Set.copyOf(pending)); // a slot came free meanwhile: straight back to the workers
            if (ready.offerFirst(id)) {
                return true;
            }
            owed.remove(id);
        }
        synchronized (claim(id)) {
            Optional<QueueState> state = spool.state(id);
            if (state.isPresent() && state.get() != QueueState.HOLD && state.get() != QueueState.ACTIVE) {
                spool.defer(id, state.get(), clock.instant().plus(settings.scanInterval()));
            }
        }
        return false;
    }

    /**
     * Where the configuration in force now (after a SIGHUP) sends a queued recipient's mail, when that is another
     * route than the one it was queued with ({@code queued}): a relay recipient whose domain is now delivered here
     * goes to its mailboxes; a local recipient whose domain is no longer delivered here (made a backup domain, or
     * removed) is relayed to its domain. Empty to keep the route. Asked for every recipient of every attempt: the
     * domain check comes first and is a map lookup.
     */
    @FunctionalInterface
    public interface Rerouting {
        Rerouting NONE = (recipient, queued) -> Optional.empty();

        Optional<Route> reroute(dev.mxd.smtp.Mailbox recipient, Route queued);
    }

    private volatile Rerouting rerouting = Rerouting.NONE;

    /** From now on each recipient still to deliver takes the route {@code r} gives it, if any (see {@link Rerouting}). */
    public void rerouteWith(Rerouting r) {
        rerouting = r;
    }

    /**
     * {@code e} with each recipient still to deliver routed as the configuration in force now says, as Postfix
     * re-resolves a recipient each time its message enters the active queue. A backup domain promoted to local by
     * SIGHUP while its primary is down (the MX pointed at this host next) had its queued mail relayed to itself and
     * bounced 5.4.6; a local domain made a backup one (its new primary elsewhere) had its deferred mail written into
     * mailboxes here that nobody reads any more. The route is written with the attempt's outcome. A local route
     * narrowed to the mailboxes still missing the copy is relayed whole: the new primary may deliver a second copy
     * to the others, never none.
     */
    private Envelope rerouted(Envelope e) {
        List<RecipientStatus> rs = e.recipients();
        List<RecipientStatus> out = null;
        for (int i = 0; i < rs.size(); i++) {
            RecipientStatus r = rs.get(i);
            if (r.state().done()) {
                continue;
            }
            Route queued = r.recipient().route();
            Optional<Route> now = rerouting.reroute(r.recipient().address(), queued);
            if (now.isPresent() && !now.get().equals(queued)) {
                if (out == null) {
                    out = new ArrayList<>(rs);
                }
                out.set(i, new RecipientStatus(new Recipient(r.recipient().address(), r.recipient().dsn(), now.get()), r.state(),
                        r.detail(), r.updated(), r.status(), r.remoteMta(), r.reply()));
                LOG.info("{}: <{}> was queued {}; the configuration now routes it {}", e.id(), dev.mxd.smtp.LogText.safe(r.recipient().address()),
                        describe(queued), describe(now.get()));
            }
        }
        return out == null ? e : e.withRecipients(out);
    }

    private static String describe(Route route) {
        return route instanceof Route.Local l ? "to the mailboxes " + l.mailboxes() + " here" : "for relay to " + ((Route.Relay) route).domain();
    }

    /** Indexes of the recipients still to deliver, grouped by destination, in first-seen order. */
    private Map<Destination, List<Integer>> byDestination(Envelope e) {
        Map<Destination, List<Integer>> groups = new LinkedHashMap<>();
        List<RecipientStatus> rs = e.recipients();
        for (int i = 0; i < rs.size(); i++) {
            if (!rs.get(i).state().done()) {
                groups.computeIfAbsent(destination(rs.get(i)), k -> new ArrayList<>()).add(i);
            }
        }
        return groups;
    }

    private Destination destination(RecipientStatus r) {
        Destination d = Destination.of(r.recipient().route());
        if (d instanceof Destination.Domain domain) {
            Optional<String> via = nextHops.apply(domain.name());
            return via.isPresent() ? new Destination.Domain(domain.name(), via) : d;
        }
        return d;
    }

    /** The next hop of a remote domain's mail when not its own MX hosts (a relay host or route); empty: its MX hosts. */
    private volatile java.util.function.Function<String, Optional<String>> nextHops = domain -> Optional.empty();

    /**
     * From now on the domains {@code f} names one next hop for (a relay host, a route) share that next hop's
     * per-destination slots, as Postfix counts concurrency per next hop: ten domains relayed through one smarthost
     * open at most {@code perDestination} connections to it, not ten times that. Asked when a message's
     * recipients are grouped, so that it follows a reload.
     */
    public void nextHopsFrom(java.util.function.Function<String, Optional<String>> f) {
        nextHops = f;
    }

    /**
     * What one pass over several destinations has to tell: the outcomes for its notice, and for each
     * recipient among them the state to keep on disk until the notice is written (so that a crash
     * before it retries the recipient rather than lose its notice).
     */
    private static final class Pass {
        final List<RecipientStatus> reports = new ArrayList<>();
        final Map<Integer, RecipientStatus> held = new HashMap<>();
    }

    /**
     * Attempts each destination of {@code going}, whose slots are taken; each slot is freed as its
     * delivery ends. Several go at once, as Postfix's queue manager delivers a message to each of
     * its destinations in parallel: one domain whose server tarpits (five minutes a greeting, a
     * few MX hosts) does not hold back the copies for the others. The first is delivered on this
     * thread and the others on threads of their own when there are any (else here, after the
     * first). Each outcome is recorded by the thread that delivered it as soon as it is known, one
     * destination at a time ({@link Outcomes}), so a crash or a stop while another destination is
     * still being tried does not deliver it again. Returns once every delivery has ended; one that
     * ended in an exception is thrown then, with every other outcome kept.
     */
    private Envelope attemptAll(Envelope e, Path text, List<Map.Entry<Destination, List<Integer>>> going, Pass pass)
            throws IOException {
        if (going.size() < 2) {
            for (Map.Entry<Destination, List<Integer>> g : going) {
                try {
                    e = attempt(e, text, g.getKey(), g.getValue(), pass);
                } finally {
                    freeSlot(g.getKey());
                }
            }
            return e;
        }
        Outcomes outcomes = new Outcomes(e, pass, going.size());
        List<GroupDelivery> here = new ArrayList<>();
        int handed = 0; // groups kept for this thread or given to one of their own
        try {
            for (; handed < going.size(); handed++) {
                GroupDelivery d = new GroupDelivery(e, text, going.get(handed).getKey(), going.get(handed).getValue(), outcomes);
                if (handed == 0 || !workers.tryAcquire()) {
                    here.add(d); // delivery.concurrency deliveries run already: after the first, on this thread
                    continue;
                }
                d.permit = true;
                try {
                    fanout.execute(d);
                } catch (Throwable noThread) { // refused, shut down, or no thread to be had
                    d.permit = false;
                    workers.release();
                    here.add(d);
                }
            }
        } catch (Throwable cannotHandOut) { // an Error while handing them out: what was not handed out is not tried
            for (int k = handed; k < going.size(); k++) {
                try {
                    freeSlot(going.get(k).getKey());
                } catch (Throwable again) {
                    cannotHandOut.addSuppressed(again);
                } finally {
                    outcomes.done(null, null, cannotHandOut);
                }
            }
        }
        here.forEach(GroupDelivery::run);
        return outcomes.await();
    }

    /**
     * The outcomes of one attempt's destinations delivered at once, merged into the envelope and
     * recorded one at a time by the threads that delivered them ({@link #holdOnDisk}); the attempt's
     * thread waits for all of them ({@link #await}).
     */
    private final class Outcomes {
        private Envelope current;
        private final Pass pass;
        private int left;
        private Throwable fault;

        Outcomes(Envelope e, Pass pass, int deliveries) {
            this.current = e;
            this.pass = pass;
            this.left = deliveries;
        }

        /** One delivery ended: its results (null when it threw) and what went wrong, if anything. */
        synchronized void done(GroupDelivery d, List<DeliveryResult> results, Throwable failed) {
            Thread.interrupted(); // a stop's interrupt of this delivery must not make the write below fail (see await)
            try {
                if (failed != null) {
                    fault(failed);
                }
                if (results != null) {
                    Merged m = merge(current, d.destination, d.indexes, d.before, results);
                    current = m.next(); // before the write: one that fails must not lose them from what follows
                    into(m, pass);
                }
            } catch (Throwable t) {
                fault(t);
            } finally {
                left--;
                notifyAll();
            }
        }

        private void fault(Throwable t) {
            if (fault == null) {
                fault = t;
            } else if (fault != t) {
                fault.addSuppressed(t);
            }
        }

        /**
         * Waits for every delivery, then gives the envelope with all their outcomes, or throws the
         * first fault. An interrupt (the pool shut down at a stop) does not end the wait, and is not
         * set again: what follows writes the pass's notice and files the message, and an
         * interrupted thread's file channels would refuse those writes; the pool ends the thread
         * after this task anyway.
         */
        synchronized Envelope await() throws IOException {
            while (left > 0) {
                try {
                    wait();
                } catch (InterruptedException stop) {
                    // see above
                }
            }
            Thread.interrupted(); // set before the wait began, or while this thread delivered its own group: cleared too
            if (fault instanceof IOException io) {
                throw io;
            } else if (fault instanceof RuntimeException r) {
                throw r;
            } else if (fault instanceof Error err) {
                throw err;
            } else if (fault != null) {
                throw new IllegalStateException(fault);
            }
            return current;
        }
    }

    /** One destination's delivery of a message that has several, run beside the others ({@link #attemptAll}). */
    private final class GroupDelivery implements Runnable {
        final Envelope envelope;
        final Path text;
        final Destination destination;
        final List<Integer> indexes;
        final List<RecipientStatus> before;
        final Outcomes outcomes;
        boolean permit; // holds one of the workers' permits, given back when it ends

        GroupDelivery(Envelope e, Path text, Destination destination, List<Integer> indexes, Outcomes outcomes) {
            this.envelope = e;
            this.text = text;
            this.destination = destination;
            this.indexes = indexes;
            this.before = before(e, indexes);
            this.outcomes = outcomes;
        }

        @Override
        public void run() {
            List<DeliveryResult> results = null;
            Throwable failed = null;
            try {
                results = deliver(envelope, text, destination, before);
            } catch (Throwable t) { // an Error too: the attempt's thread throws it once every outcome is kept
                failed = t;
            } finally {
                try {
                    try {
                        freeSlot(destination);
                    } finally {
                        if (permit) {
                            workers.release();
                        }
                    }
                } catch (Throwable t) {
                    failed = failed == null ? t : failed;
                } finally {
                    outcomes.done(this, results, failed);
                }
            }
        }
    }

    private static List<RecipientStatus> before(Envelope e, List<Integer> indexes) {
        List<RecipientStatus> before = new ArrayList<>();
        for (int i : indexes) {
            before.add(e.recipients().get(i));
        }
        return before;
    }

    private List<DeliveryResult> deliver(Envelope e, Path text, Destination destination, List<RecipientStatus> before)
            throws IOException {
        DeliveryAgent agent = destination instanceof Destination.Local ? local : remote;
        // The attempt at the end of the queue lifetime is the last one (a give-up of 0s has none: each first attempt is
        // all there is, and hosts passed over are bounced for without a connection, as Postfix does then).
        boolean last = !settings.retry().giveUp().isZero() && settings.retry().expired(e.arrival(), clock.instant());
        if (last) {
            lastAttempted.add(e.id());
        }
        List<DeliveryResult> results = last ? agent.deliverLast(e, text, before) : agent.deliver(e, text, before);
        if (results.size() != before.size()) {
            throw new IllegalStateException("delivery agent for " + destination + " returned " + results.size()
                    + " results for " + before.size() + " recipients");
        }
        if (results.stream().anyMatch(java.util.Objects::isNull)) { // not contains(null): List.of refuses the question
            // An agent's bug: the recipients it gave a result for keep it (one thrown away would be delivered again);
            // those without are deferred, as after any local fault.
            LOG.error("{}: the delivery agent for {} gave no result for some recipients (a fault in mxd); they are tried again",
                    e.id(), destination);
            results = results.stream().map(r -> r != null ? r : (DeliveryResult) new DeliveryResult.Deferred(
                    dev.mxd.smtp.EnhancedStatus.LOCAL_ERROR, "no result from the delivery agent (a fault in mxd); tried again",
                    Optional.empty(), Optional.empty(), true, Optional.empty())).toList();
        }
        return results;
    }

    /**
     * One destination's outcomes merged into the envelope: {@code toReport} for a notice, and for
     * each of those recipients the state it had before ({@code heldBefore}, by index), kept on
     * disk until the notice is written when the message has several destinations.
     */
    private record Merged(Envelope next, List<RecipientStatus> toReport, Map<Integer, RecipientStatus> heldBefore) {}

    /**
     * Within a pass over several destinations: {@code m}'s outcomes added to the pass and recorded
     * ({@link #holdOnDisk}: in memory first, so a write that fails leaves them for the next attempt to
     * write first).
     */
    private void into(Merged m, Pass pass) throws IOException {
        pass.reports.addAll(m.toReport());
        m.heldBefore().forEach(pass.held::putIfAbsent);
        holdOnDisk(m.next(), pass);
    }

    private Envelope attempt(Envelope e, Path text, Destination destination, List<Integer> indexes, Pass pass) throws IOException {
        List<RecipientStatus> before = before(e, indexes);
        List<DeliveryResult> results = deliver(e, text, destination, before);
        // A stop's interrupt of this delivery (the pool shut down after its grace) must not make the writes below
        // fail: outcomes kept only in memory would be delivered again after the restart. The pool ends the thread after.
        Thread.interrupted();
        Merged m = merge(e, destination, indexes, before, results);
        if (pass == null) {
            record(m.next(), text, m.toReport());
            return m.next();
        }
        into(m, pass);
        return m.next();
    }

    private Merged merge(Envelope e, Destination destination, List<Integer> indexes, List<RecipientStatus> before,
                         List<DeliveryResult> results) {
        Instant now = clock.instant();
        List<RecipientStatus> updated = new ArrayList<>(e.recipients());
        List<RecipientStatus> toReport = new ArrayList<>();
        Map<Integer, RecipientStatus> held = new HashMap<>();
        for (int k = 0; k < indexes.size(); k++) {
            if (results.get(k) instanceof DeliveryResult.Deferred d && d.retryBy().isPresent()) {
                retryBy.merge(e.id(), d.retryBy().get(), (a, b) -> a.isBefore(b) ? a : b);
            } else if (results.get(k) instanceof DeliveryResult.Deferred) {
                unhinted.add(e.id());
            }
            RecipientStatus r = before.get(k).after(results.get(k), now);
            updated.set(indexes.get(k), r);
            log(e, r);
            // Success notices where mxd is the final hop, and "relayed" ones where the next hop does not take NOTIFY on
            // (RFC 3461: it did not announce DSN, so it drops NOTIFY); a server that announced it sends its own.
            boolean lastToTell = destination instanceof Destination.Local
                    || results.get(k) instanceof DeliveryResult.Delivered d && d.relayedWithoutDsn();
            if (r.state() == DeliveryState.FAILED || (r.state() == DeliveryState.DELIVERED && lastToTell && wantsSuccessNotice(r))) {
                toReport.add(r);
                held.put(indexes.get(k), before.get(k));
            }
        }
        return new Merged(e.withRecipients(updated), toReport, held);
    }

    /**
     * Within a pass over several destinations: in memory the real states and the notice still owed
     * (if this write or a later destination fails, the next attempt sends that notice and writes
     * these states before it delivers anything, as after a full disk); on disk the rest now, so
     * that a crash does not deliver them again, and the recipients the notice tells of as they were.
     */
    private void holdOnDisk(Envelope next, Pass pass) throws IOException {
        unrecorded.put(next.id(), new Unrecorded(next, List.copyOf(pass.reports)));
        List<RecipientStatus> written = new ArrayList<>(next.recipients());
        pass.held.forEach(written::set);
        Envelope onDisk = next.withRecipients(written);
        if (!onDisk.done()) {
            spool.update(QueueState.ACTIVE, onDisk);
        }
    }

    /**
     * After a fault in a pass over several destinations (one of them threw): the notice that pass owes
     * and the states it tells of, written now when the spool takes them, rather than kept in memory
     * until the next attempt, which may be an hour or, on hold, an operator away (a restart meanwhile
     * delivered a NOTIFY=SUCCESS recipient again, its state on disk being the one before). A write
     * that fails leaves them in memory, as before; so does a fault of the spool itself (an
     * IOException: the caller does not ask). Returns whether the message is finished (removed).
     */
    private boolean recordOwed(String id, Throwable fault) {
        Unrecorded owed = unrecorded.get(id);
        if (owed == null || owed.toReport().isEmpty()) {
            return false;
        }
        try {
            record(owed.envelope(), spool.text(id), owed.toReport());
            if (owed.envelope().done()) {
                // every recipient ended in this attempt (record writes no state for a finished message): removed now,
                // or the envelope on disk, from before, would be tried and told of again after a restart
                spool.finish(QueueState.ACTIVE, id);
                unrecorded.remove(id);
                LOG.info("{}: removed", id);
                return true;
            }
        } catch (Throwable again) { // an Error too: the message must still be filed (fileAfterFault) after this
            fault.addSuppressed(again);
            LOG.error("{}: the notice this attempt owes could not be written now ({}); it is kept for the next attempt", id,
                    dev.mxd.smtp.LogText.safe(again));
        }
        return false;
    }

    /**
     * Writes an attempt's outcomes: the notices first (a crash repeats a notice, never loses one),
     * then the recipient states. Until both are done they are kept in memory, so that a write that
     * fails (disk full) makes the next attempt record them instead of delivering again.
     */
    private void record(Envelope next, Path text, List<RecipientStatus> toReport) throws IOException {
        record(QueueState.ACTIVE, next, text, toReport);
    }

    /** As {@link #record(Envelope, Path, List)}, for a message that is in {@code where}. */
    private void record(QueueState where, Envelope next, Path text, List<RecipientStatus> toReport) throws IOException {
        unrecorded.put(next.id(), new Unrecorded(next, toReport));
        if (!toReport.isEmpty()) {
            notices.send(next, text, toReport);
            unrecorded.put(next.id(), new Unrecorded(next, List.of()));
        }
        if (!next.done()) {
            // A finished message is removed next instead: rewriting its envelope first would cost two
            // fsyncs to guard the same crash window (delivered, not yet recorded: a rare duplicate).
            spool.update(where, next);
        }
    }

    private static boolean wantsSuccessNotice(RecipientStatus r) {
        return r.recipient().dsn().notifyOn().contains(DsnNotify.SUCCESS);
    }

    /** Per message being attempted, the soonest time a deferral's cause lifts (DeliveryResult.Deferred.retryBy). */
    private final Map<String, Instant> retryBy = new ConcurrentHashMap<>();
    /**
     * Messages being attempted with a recipient deferred without such a time (a server's 4yz): the message keeps its own
     * next attempt, so that a hint for one destination does not bring another's server a retry a few seconds after its
     * deferral.
     */
    private final java.util.Set<String> unhinted = ConcurrentHashMap.newKeySet();
    /** Messages whose attempt now running (or just ended) is their last one, made when their lifetime had ended (deliver). */
    private final java.util.Set<String> lastAttempted = ConcurrentHashMap.newKeySet();

    /** A queue lifetime in words, in the largest unit that divides it ("5 days", "12 hours", "90 minutes"). */
    static String span(Duration d) {
        long seconds = d.toSeconds();
        long[] sizes = {86_400, 3_600, 60, 1};
        String[] units = {"day", "hour", "minute", "second"};
        for (int i = 0; i < sizes.length; i++) {
            if (seconds >= sizes[i] && seconds % sizes[i] == 0 || i == sizes.length - 1) {
                long n = seconds / sizes[i];
                return n + " " + units[i] + (n == 1 ? "" : "s");
            }
        }
        throw new AssertionError();
    }

    /** After an attempt: remove a finished message, bounce an expired one, defer the rest. */
    private void file(Envelope e, Path text) throws IOException {
        if (e.done()) {
            spool.finish(QueueState.ACTIVE, e.id());
            LOG.info("{}: removed", e.id());
            return;
        }
        Instant now = clock.instant();
        Optional<Instant> next = settings.retry().nextAttempt(e.arrival(), now);
        Instant hint = retryBy.remove(e.id());
        if (unhinted.remove(e.id())) {
            hint = null;
        }
        if (cutAtStop && next.isPresent()) {
            // a stop cut its delivery short: that is no reason to wait its retry time after the start (up to an hour).
            // Only then: a start that fails (its port taken) closes the queue too, and restarts every few seconds must
            // not skip every message's backoff. An expired one gets its last attempt after the start (below).
            hint = now;
        }
        boolean hadLastAttempt = lastAttempted.remove(e.id());
        if (next.isEmpty() && !settings.retry().giveUp().isZero() && (cutAtStop || !hadLastAttempt)) {
            // Its lifetime ended while this attempt ran (it began just before the end), or a stop cut its last attempt
            // short: the last attempt, which tries every next hop, comes now (after the start), before any bounce.
            next = Optional.of(now);
        }
        if (next.isPresent() && hint != null && hint.isBefore(next.get())) {
            // what deferred it lifts sooner than the message's age says (its MX hosts may be tried again then); a hint
            // already past (it waited for a slot meanwhile) is a second from now, never later than the message's own time
            Instant soon = now.plusSeconds(1);
            next = Optional.of(hint.isAfter(now) ? hint : soon.isBefore(next.get()) ? soon : next.get());
        }
        if (next.isPresent()) {
            spool.defer(e.id(), QueueState.ACTIVE, next.get());
            LOG.info("{}: deferred until {}", e.id(), next.get().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            nudge(next.get());
            return;
        }
        List<RecipientStatus> expired = new ArrayList<>();
        for (RecipientStatus r : e.recipients()) {
            if (!r.state().done()) {
                // RFC 8689 §4.2.1: a REQUIRETLS message that never found a secure enough next hop is returned as such (5.7.10)
                // A server's own 4.7.x (a greylisting 450 4.7.1, a 421 4.7.0 rate limit) is no TLS trouble: only a status of
                // mxd's TLS decisions counts, not one that merely repeats the reply the recipient last got.
                boolean tlsTrouble = e.parameters().requireTls() && r.status().filter(st -> st.subject() == 7
                        && r.reply().flatMap(dev.mxd.smtp.SmtpReply::enhancedStatus).filter(st::equals).isEmpty()).isPresent();
                RecipientStatus failed = new RecipientStatus(r.recipient(), DeliveryState.FAILED,
                        "delivery time expired after " + span(settings.retry().giveUp()) + "; last problem: " + r.detail(),
                        now, Optional.of(tlsTrouble ? EnhancedStatus.ENCRYPTION_NEEDED : EnhancedStatus.EXPIRED), r.remoteMta(),
                        r.reply()); // the last server's reply, when this attempt got one: the DSN's Diagnostic-Code says what it was
                expired.add(failed);
            }
        }
        notices.send(e, text, expired);
        // logged and counted once the bounce is spooled: a bounce that cannot be (a full disk) is tried again later, and
        // each try would otherwise log and count the same recipients again
        for (RecipientStatus failed : expired) {
            log(e, failed);
        }
        spool.finish(QueueState.ACTIVE, e.id());
        LOG.info("{}: removed after its queue lifetime ({} recipient(s) bounced)", e.id(), expired.size());
    }

    /**
     * Files a message whose attempt ended in an exception rather than in outcomes: deferred as a
     * failed attempt would be (by its age), so a fault that stays is tried less and less often;
     * once the queue lifetime is over, put on hold instead of bounced (the bounce may be what
     * fails) and left for the operator, never tried for ever and never dropped.
     */
    private void fileAfterFault(String id, QueueState from, Throwable fault) throws IOException {
        Instant now = clock.instant();
        Optional<Instant> arrival;
        boolean readable;
        try {
            arrival = Optional.of(spool.envelope(from, id).arrival());
            readable = true;
        } catch (IOException | RuntimeException unreadable) {
            arrival = Spool.arrivalOf(id);
            readable = false; // cut short or not an envelope: no later attempt will read it either
        }
        Optional<Instant> next = arrival.isPresent() ? settings.retry().nextAttempt(arrival.get(), now) : Optional.empty();
        if (next.isEmpty() && ((fault instanceof IOException && readable) || arrival.isEmpty())) {
            // a disk full when the expiry bounce is spooled, say: tried again (and bounced) once there is room
            next = Optional.of(now.plus(settings.retry().first()));
        }
        if (next.isPresent()) {
            spool.defer(id, from, next.get());
            nudge(next.get());
            return;
        }
        spool.move(id, from, QueueState.HOLD);
        LOG.error("{}: every attempt failed until the queue lifetime ended (last: {}); put on hold: see the errors above,"
                + " then `mxd queue release {}` to try again or `mxd queue delete {}`", id, dev.mxd.smtp.LogText.safe(fault), id, id);
    }

    /** Scans again no later than {@code due}, so short retry times (tests, the demo) are honoured. */
    private void nudge(Instant due) {
        long wait = Duration.between(clock.instant(), due).toNanos();
        long at = System.nanoTime() + Math.max(0, wait);
        if (at - nextScanNanos < 0) {
            nextScanNanos = at;
        }
    }

    /** The Postfix-style line for one recipient's outcome (see {@link DeliveryEvent#logLine}), then the listeners. */
    private void log(Envelope e, RecipientStatus r) {
        // where the mail went, as the log and the listeners name it: no next hop, so no configuration lookup per recipient
        Destination destination = Destination.of(r.recipient().route());
        boolean local = destination instanceof Destination.Local;
        String dsn = r.status().orElse(switch (r.state()) {
            case DELIVERED -> EnhancedStatus.OK;
            case FAILED -> EnhancedStatus.PERMANENT_FAILURE;
            default -> EnhancedStatus.TEMPORARY_FAILURE;
        }).toString();
        DeliveryEvent event = new DeliveryEvent(e.id(), r.recipient().address().toString(), destination,
                r.remoteMta().orElse(local ? "local" : "none"), DeliveryEvent.Outcome.of(r.state()), dsn, r.detail(),
                e.arrival(), clock.instant());
        if (LOG.isInfoEnabled()) {
            List<String> boxes = r.state() == DeliveryState.DELIVERED && r.recipient().route() instanceof Route.Local l
                    ? expandedTo(r.recipient().address(), l) : List.of();
            if (boxes.isEmpty()) {
                LOG.info("{}", event.logLine());
            } else {
                for (String box : boxes) { // an alias: a line per mailbox it reached, with orig_to= (Postfix's local)
                    LOG.info("{}", event.logLine(box));
                }
            }
        }
        for (DeliveryListener l : listeners) {
            try {
                l.delivered(event);
            } catch (RuntimeException ex) {
                LOG.warn("{}: delivery listener failed: {}", e.id(), ex.toString());
            }
        }
    }

    /**
     * The mailboxes of {@code route} as addresses when they are not simply the recipient's own mailbox (an alias, a
     * catch-all, a postmaster taken for the first local domain's), else none.
     */
    private static List<String> expandedTo(Mailbox address, Route.Local route) {
        if (route.mailboxes().size() == 1 && route.mailboxes().get(0).equalsIgnoreCase(address.localKey())
                && route.domain().equalsIgnoreCase(address.domainKey())) {
            return List.of();
        }
        List<String> out = new ArrayList<>(route.mailboxes().size());
        for (String box : route.mailboxes()) {
            out.add(box + "@" + route.domain());
        }
        return out;
    }

    /** A shorter drain than 30 s at {@link #close} (tests). */
    void drain(Duration d) {
        this.drain = d;
    }

    @Override
    public void close() {
        running = false;
        scheduler.interrupt();
        localDispatcher.interrupt();
        try {
            scheduler.join(5_000);
            localDispatcher.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.shutdown();
        try {
            if (!pool.awaitTermination(drain.toMillis(), TimeUnit.MILLISECONDS)) {
                // A delivery that still waits on a next hop (a slow final reply) would leave its message's pass unwritten:
                // recipients of other destinations delivered in that pass, with NOTIFY=SUCCESS, went again after the
                // restart. Cut short, it ends as a broken connection does, and the pass writes its notice and states.
                LOG.warn("queue manager: deliveries still running after {}; cutting them short (their recipients are"
                        + " deferred) so that their outcomes are written", drain.toSeconds() + " s");
                cutAtStop = true;
                local.cutShort();
                remote.cutShort();
                if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                    pool.shutdownNow(); // messages left in active/ go back to incoming at the next start
                }
            }
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
        fanout.shutdownNow(); // idle by now, unless the deliveries above were cut short too
        if (pool.isTerminated()) {
            recordKept(); // no attempt is running that could write the same envelopes
        }
        sweeper.interrupt();
        try {
            sweeper.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            spool.tidyAll(); // the texts finished in the last seconds do not stay in the spool until the next start
        } catch (RuntimeException e) {
            LOG.warn("queue manager: cannot empty spare files: {}", e.toString());
        }
    }

    /**
     * At a stop: the outcomes kept only in memory because the spool could not take them (a full
     * disk) are written now if it takes them, in whatever state the message is (a deferred one
     * keeps its next attempt), so that a restart does not deliver again to recipients that already
     * have the mail, nor lose a notice owed. What still cannot be written is left, as before: the
     * envelope on disk decides after the restart (duplicates, no loss).
     */
    private void recordKept() {
        for (String id : List.copyOf(unrecorded.keySet())) {
            synchronized (claim(id)) {
                Unrecorded kept = unrecorded.get(id);
                if (kept == null) {
                    continue;
                }
                try {
                    Optional<QueueState> state = spool.state(id);
                    if (state.isPresent()) {
                        QueueState where = state.get();
                        Instant due = where == QueueState.DEFERRED ? spool.nextAttempt(id) : null;
                        record(where, kept.envelope(), spool.text(id), kept.toReport());
                        if (kept.envelope().done()) {
                            spool.finish(where, id);
                            LOG.info("{}: removed", id);
                        } else if (due != null) {
                            spool.defer(id, QueueState.DEFERRED, due); // the rewrite made it due now
                        }
                    }
                    unrecorded.remove(id);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("{}: the outcomes kept in memory cannot be written at the stop ({}); after a restart the envelope "
                            + "on disk decides, and recipients it has as pending are tried again", id, dev.mxd.smtp.LogText.safe(e));
                }
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
