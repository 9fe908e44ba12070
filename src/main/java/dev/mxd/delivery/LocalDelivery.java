package dev.mxd.delivery;

import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.server.Route;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A simple in-process delivery loop until the queue manager exists: every message that enters
 * {@code incoming/} has its local recipients delivered to Maildir; the message leaves the
 * spool when every recipient is done. Recipients to be relayed (backup domains, trusted
 * clients) stay pending and the message moves to {@code deferred/} for the remote delivery
 * agent. A failed Maildir write is retried after {@code retryDelay}.
 */
public final class LocalDelivery implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LocalDelivery.class);

    private final Spool spool;
    private final Maildir maildir;
    private final Clock clock;
    private final Duration retryDelay;
    private final LinkedBlockingQueue<String> due = new LinkedBlockingQueue<>();
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "mxd-local-retry"));
    private final Thread worker = daemon(this::run, "mxd-local-delivery");
    private volatile boolean running = true;

    public LocalDelivery(Spool spool, Maildir maildir, Clock clock, Duration retryDelay) {
        this.spool = spool;
        this.maildir = maildir;
        this.clock = clock;
        this.retryDelay = retryDelay;
    }

    /** Starts with every message already waiting in {@code incoming/} (recovered after a restart), then new ones. */
    public void start() throws IOException {
        spool.onAccepted(due::add);
        due.addAll(spool.ids(QueueState.INCOMING));
        worker.start();
    }

    private void run() {
        while (running) {
            String id;
            try {
                id = due.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (id != null) {
                try {
                    deliver(id);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("{}: local delivery failed, retrying in {}: {}", id, retryDelay, e.toString());
                    retries.schedule(() -> due.add(id), retryDelay.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        }
    }

    /** Delivers the pending local recipients of one incoming message and files the message by what is left. */
    void deliver(String id) throws IOException {
        if (spool.state(id).orElse(null) != QueueState.INCOMING) {
            return;
        }
        Envelope e = spool.envelope(QueueState.INCOMING, id);
        byte[] text = null;
        List<RecipientStatus> updated = new ArrayList<>();
        boolean localLeft = false;
        Set<String> filled = mailboxesDelivered(e);
        for (RecipientStatus r : e.recipients()) {
            if (r.state().done() || !(r.recipient().route() instanceof Route.Local local)) {
                updated.add(r);
                continue;
            }
            Instant now = clock.instant();
            try {
                for (String box : local.mailboxes()) {
                    if (!filled.add(local.domain() + "/" + box)) {
                        LOG.info("{}: <{}> mailbox {}/{} already has this message; not delivered twice", id, r.recipient().address(),
                                local.domain(), box);
                        continue;
                    }
                    if (text == null) {
                        text = Files.readAllBytes(spool.text(id));
                    }
                    maildir.deliver(local.domain(), box, deliveryHeaders(e, r.recipient().address()), text);
                    LOG.info("{}: delivered to <{}> mailbox {}/{}", id, r.recipient().address(), local.domain(), box);
                }
                updated.add(r.with(DeliveryState.DELIVERED, "delivered to Maildir", now));
            } catch (IOException ex) {
                LOG.warn("{}: <{}>: Maildir delivery failed: {}", id, r.recipient().address(), ex.toString());
                updated.add(r.with(DeliveryState.DEFERRED, "Maildir: " + ex.getMessage(), now));
                localLeft = true;
            }
        }
        Envelope after = e.withRecipients(updated);
        if (after.done()) {
            spool.remove(QueueState.INCOMING, id);
            LOG.info("{}: removed from the spool (all recipients done)", id);
            return;
        }
        spool.update(QueueState.INCOMING, after);
        if (localLeft) {
            retries.schedule(() -> due.add(id), retryDelay.toMillis(), TimeUnit.MILLISECONDS);
        } else {
            spool.move(id, QueueState.INCOMING, QueueState.DEFERRED);
            LOG.info("{}: waiting in deferred/ for remote delivery", id);
        }
    }

    /**
     * The mailboxes that already hold this message: those of recipients delivered in an earlier
     * attempt. A message gets one copy per mailbox however many of its recipients lead there
     * (an alias and the mailbox itself, two aliases, the same RCPT twice), as Postfix's local
     * delivery suppresses duplicates; the copy carries the Delivered-To of the first such recipient.
     */
    private static Set<String> mailboxesDelivered(Envelope e) {
        Set<String> filled = new HashSet<>();
        for (RecipientStatus r : e.recipients()) {
            if (r.state() == DeliveryState.DELIVERED && r.recipient().route() instanceof Route.Local local) {
                local.mailboxes().forEach(box -> filled.add(local.domain() + "/" + box));
            }
        }
        return filled;
    }

    /** RFC 5321 §4.4: the final delivery adds Return-Path; Delivered-To names the recipient, as Postfix's local does. */
    private static byte[] deliveryHeaders(Envelope e, Mailbox recipient) {
        String h = "Return-Path: <" + e.sender().map(Mailbox::toString).orElse("") + ">\r\n"
                + "Delivered-To: " + recipient + "\r\n";
        return h.getBytes(StandardCharsets.UTF_8);
    }

    /** Whether nothing is waiting for this loop right now (tests wait for this). */
    public boolean idle() {
        return due.isEmpty();
    }

    @Override
    public void close() {
        running = false;
        worker.interrupt();
        retries.shutdownNow();
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
