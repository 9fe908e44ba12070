package dev.mxd.cli;

import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.LocalDelivery;
import dev.mxd.delivery.Maildir;
import dev.mxd.policy.DomainPolicy;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.server.SmtpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The receiving MX put together, in the order mail flows: SMTP server → recipient policy →
 * spool → local delivery. {@code mxd serve} runs one; tests start one in-process.
 */
public final class ReceivingMx implements AutoCloseable {

    private final MxdConfig config;
    private final Spool spool;
    private final LocalDelivery delivery;
    private final SmtpServer server;

    private ReceivingMx(MxdConfig config, Spool spool, LocalDelivery delivery, SmtpServer server) {
        this.config = config;
        this.spool = spool;
        this.delivery = delivery;
        this.server = server;
    }

    /** Recovers the spool, starts delivering what it holds, then opens the SMTP listeners. */
    public static ReceivingMx start(MxdConfig config) throws IOException {
        Clock clock = Clock.systemUTC();
        Path data = config.dataDir();
        Spool spool = Spool.open(data.resolve("spool"), config.hostname(), clock);
        LocalDelivery delivery = new LocalDelivery(spool, new Maildir(data.resolve("mail"), config.hostname(), clock), clock,
                Duration.ofMinutes(1));
        delivery.start();
        try {
            return new ReceivingMx(config, spool, delivery, SmtpServer.start(config, new DomainPolicy(config), spool));
        } catch (IOException | RuntimeException e) {
            delivery.close();
            throw e;
        }
    }

    public List<InetSocketAddress> smtpAddresses() {
        return server.addresses();
    }

    public Spool spool() {
        return spool;
    }

    public MxdConfig config() {
        return config;
    }

    /** The Maildir of a mailbox, where delivered mail appears in {@code new/}. */
    public Path maildir(String domain, String mailbox) {
        return config.dataDir().resolve("mail").resolve(domain).resolve(mailbox).resolve("Maildir");
    }

    /** Stops receiving first (421 to open sessions, stored messages acknowledged), then delivery. */
    @Override
    public void close() {
        server.close();
        delivery.close();
    }
}
