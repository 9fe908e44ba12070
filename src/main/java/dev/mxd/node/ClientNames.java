package dev.mxd.node;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.ForwardConfirmedNames;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.server.ClientNameLookup;
import dev.mxd.smtp.server.SmtpServer;
import java.net.InetAddress;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SMTP server's client names from DNS ({@code dns.client-name-lookup: on}): each connection's
 * forward-confirmed reverse lookup ({@link ForwardConfirmedNames}) runs on a small pool of its own,
 * since the DNS client blocks and the server's event loops must not. The pool and its queue are
 * bounded; a lookup that finds no room answers {@code unknown} at once rather than waiting. A client whose
 * answers are all cached (one that connects again and again) is named at once, on the caller's thread.
 */
final class ClientNames implements ClientNameLookup {

    private static final Logger LOG = LoggerFactory.getLogger(ClientNames.class);
    private static final int THREADS = 8;
    private static final int WAITING = 1000;

    private final ForwardConfirmedNames names;
    private final ThreadPoolExecutor pool;

    ClientNames(DnsClient dns) {
        this.names = new ForwardConfirmedNames(dns, SmtpServer.CLIENT_NAME_WAIT);
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(WAITING), r -> {
            Thread t = new Thread(r, "mxd-client-names");
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true); // idle threads end: nothing to close
    }

    @Override
    public CompletionStage<Optional<String>> name(InetAddress client) {
        Optional<Optional<String>> known = names.cachedName(client); // a client seen a moment ago: no hand-off
        if (known.isPresent()) {
            return CompletableFuture.completedFuture(known.get());
        }
        try {
            long asked = System.nanoTime();
            // A lookup that waited in the queue past the greeting's wait is for a client greeted as unknown
            // already (or gone): skip it, so that a flood of connections cannot keep the pool busy for minutes.
            return CompletableFuture.supplyAsync(() -> System.nanoTime() - asked >= SmtpServer.CLIENT_NAME_WAIT.toNanos()
                    ? Optional.<String>empty() : names.name(client), pool);
        } catch (RejectedExecutionException busy) {
            LOG.debug("client name of {}: too many lookups waiting; unknown", LogText.safe(client.getHostAddress()));
            return CompletableFuture.completedFuture(Optional.empty());
        }
    }
}
