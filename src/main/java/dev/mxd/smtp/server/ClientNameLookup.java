package dev.mxd.smtp.server;

import java.net.InetAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * How the SMTP server learns a client's name before it greets it, as Postfix's smtpd does: the
 * node gives a forward-confirmed reverse DNS lookup (this package uses no DNS itself). The answer
 * may come on any thread and must not block the caller; empty means {@code unknown}. The server
 * waits for it at most {@link SmtpServer#CLIENT_NAME_WAIT}.
 */
@FunctionalInterface
public interface ClientNameLookup {

    /** No lookups ({@code dns.client-name-lookup: off}, Postfix's {@code smtpd_peername_lookup = no}): every client is unknown. */
    ClientNameLookup NONE = address -> CompletableFuture.completedFuture(Optional.empty());

    CompletionStage<Optional<String>> name(InetAddress client);
}
