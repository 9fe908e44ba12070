package dev.mxd.node;

import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.dns.DnsClient;
import dev.mxd.filter.Quarantine;
import dev.mxd.ops.AdminServer;
import dev.mxd.ops.AdminToken;
import dev.mxd.ops.HealthProbes;
import dev.mxd.ops.Metrics;
import dev.mxd.ops.QuarantineOperations;
import dev.mxd.ops.QueueView;
import dev.mxd.ops.RecentEvents;
import dev.mxd.queue.QueueManager;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.smtp.server.SmtpServer;
import java.io.IOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The operator's side of a running mxd, put together in one place so {@link ReceivingMx} stays a
 * list of mail components: meters bound to the spool, queue, hosts, DNS and SMTP server; released
 * quarantine entries injected; and, when {@code listen.admin} is set, the admin listener.
 */
record Operations(Metrics metrics, RecentEvents recent, Optional<AdminServer> admin, Optional<HealthProbes> probes)
        implements AutoCloseable {

    static Operations start(MxdConfig config, Spool spool, QueueManager queue, HostStatusTable hosts, DnsClient dns,
                            SmtpServer server, RecipientPolicy policy, Metrics metrics, RecentEvents recent, Clock clock,
                            Optional<AdminServer.ReportTrigger> tlsReports)
            throws IOException {
        metrics.bindSpool(spool);
        metrics.bindSmtpSessions(server::openConnections);
        server.countRejections(metrics::smtpRejected);
        metrics.bindHosts(hosts);
        metrics.bindDns(dns);
        QuarantineOperations quarantine = QuarantineOperations.inServer(new Quarantine(config.dataDir()), spool, policy, clock);
        quarantine.resumePending(); // released while mxd was down (--data-dir), or a release a crash interrupted
        if (config.adminListener().isEmpty()) {
            return new Operations(metrics, recent, Optional.empty(), Optional.empty());
        }
        AdminToken token = AdminToken.loadOrCreate(config.adminToken());
        HealthProbes probes = HealthProbes.start(config, spool, clock);
        AdminServer.Health health = () -> {
            Map<String, com.fasterxml.jackson.databind.node.ObjectNode> checks = new LinkedHashMap<>();
            checks.put("smtp", AdminServer.check(server.listening(), "listening on " + HealthProbes.addresses(server.addresses())));
            checks.put("spool", probes.spool(spool.root().resolve(QueueState.INCOMING.directory())));
            checks.put("queue", AdminServer.check(queue.running(), queue.running() ? "queue manager running" : "queue manager stopped"));
            checks.putAll(probes.checks()); // space, then each filter engine in use
            // Warnings, not failures: an expired or short-keyed certificate still encrypts for senders that do not verify.
            SmtpServer.TlsOffer offer = server.tlsOffer(); // as the last reload left it
            var tls = AdminServer.check(true, offer.certificate().map(c -> "STARTTLS with " + c).orElse("off (no certificate configured)"));
            var warnings = tls.putArray("warnings");
            offer.warnings(clock.instant()).forEach(warnings::add);
            checks.put("tls", tls);
            // Informational: with dns.dnssec auto and resolvers that cannot validate, delivery still works, unauthenticated.
            var dnssec = AdminServer.check(true, dns.dnssecNote());
            dnssec.put("validating", dns.validating());
            checks.put("dnssec", dnssec);
            return checks;
        };
        AdminServer admin;
        try {
            admin = AdminServer.start(config.adminListener().get(), new AdminServer.Parts(token, queue,
                    new QueueView(spool, hosts, recent, clock), metrics, Optional.of(quarantine), health, tlsReports));
        } catch (IOException | RuntimeException e) {
            probes.close();
            throw e;
        }
        return new Operations(metrics, recent, Optional.of(admin), Optional.of(probes));
    }

    /** The recipient policy, counting refusals by reply (mxd_smtp_rejected_total). */
    static RecipientPolicy counting(RecipientPolicy policy, Metrics metrics) {
        return new RecipientPolicy() {
            @Override
            public RcptDecision decide(Mailbox recipient, ClientInfo client) {
                RcptDecision d = policy.decide(recipient, client);
                if (d instanceof RcptDecision.Refuse r) {
                    metrics.rcptRejected(r.reply());
                }
                return d;
            }

            @Override
            public java.util.concurrent.CompletionStage<RcptDecision> decideForClient(Mailbox recipient, ClientInfo client) {
                return policy.decideForClient(recipient, client).thenApply(d -> {
                    if (d instanceof RcptDecision.Refuse r) {
                        metrics.rcptRejected(r.reply());
                    }
                    return d;
                });
            }

            @Override
            public Optional<Mailbox> postmaster() {
                return policy.postmaster();
            }

            @Override
            public Optional<dev.mxd.mail.QueueRuns> queueRuns() {
                return policy.queueRuns();
            }
        };
    }

    /** After a reload: /health asks the filter engines the new configuration's domains use. */
    void reloaded(MxdConfig config) {
        probes.ifPresent(p -> p.replace(config));
    }

    @Override
    public void close() {
        admin.ifPresent(AdminServer::close);
        probes.ifPresent(HealthProbes::close);
        metrics.close();
    }
}
