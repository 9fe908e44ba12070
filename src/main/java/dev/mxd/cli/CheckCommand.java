package dev.mxd.cli;

import dev.mxd.check.CheckReport;
import dev.mxd.check.Finding;
import dev.mxd.check.HostProbe;
import dev.mxd.check.MxCheck;
import dev.mxd.check.SecurityCheck;
import dev.mxd.check.SecurityReport;
import dev.mxd.check.Severity;
import dev.mxd.smtp.AddressText;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxOutcome;
import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.smtp.client.ProbeSettings;
import dev.mxd.smtp.client.SmtpProbe;
import dev.mxd.tls.MtaSts;
import java.io.PrintWriter;
import java.util.List;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mxd check}: what {@code mxd lookup} shows, plus an SMTP probe of every address of every
 * mail exchanger and graded findings, so an operator can see whether a domain's MX set-up can be
 * trusted before mail depends on it.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check DOMAIN's MX set-up: resolve it, open an SMTP session to every MX address (greeting, EHLO,"
                + " QUIT; no mail is sent) and list findings as error, warning or note.",
                "It grades MX security too: DNSSEC of the MX chain (--dnssec, --trust-anchor), each host's TLSA records against"
                        + " the certificate it presents, the MTA-STS policy and each MX certificate under it (--ca-file), the TLS-RPT"
                        + " record.",
                "Exit status: 0 no errors, 1 errors found, 75 DNS failed for now, 64 usage error."},
        footer = {"", "Examples:", "  mxd check example.org",
                "  mxd check --dns 127.0.0.1:5354 --port 2525 --timeout 5s example.test",
                "  mxd check --dns 127.0.0.1:5354 --dnssec validate --trust-anchor dane.test.anchor --ca-file ca.pem dane.test"})
final class CheckCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DOMAIN", description = "The mail domain (Unicode or A-labels).")
    String domain;

    @Mixin
    ResolverOptions resolverOptions;

    @Option(names = "--port", paramLabel = "N", defaultValue = "25",
            description = "SMTP port to probe (default 25: MX has no port, RFC 5321 §5.1).")
    int port;

    @Option(names = "--connect-timeout", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "Most time to open a connection (default 10s).")
    Duration connectTimeout;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
            description = "Most time for each reply: greeting, EHLO (default 30s).")
    Duration readTimeout;

    @Option(names = "--ehlo-name", paramLabel = "NAME",
            description = "Name to send in EHLO; default: the address literal of our end of each connection.")
    String ehloName;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = TerminalText.guard(spec.commandLine().getOut()); // greetings, EHLO lines and policies are the servers' own
        CheckReport report;
        Optional<MtaSts.Published> sts = Optional.empty();
        try {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("--port " + port + ": give a TCP port from 1 to 65535");
            }
            ProbeSettings settings = new ProbeSettings(connectTimeout, readTimeout, Optional.ofNullable(ehloName));
            MailDomain parsed = ResolverOptions.domainArgument(domain);
            MxOutcome outcome = resolverOptions.resolver().resolve(parsed);
            report = new MxCheck(new SmtpProbe(settings), port).check(outcome);
            report = report.withSecurity(new SecurityCheck(resolverOptions.dnsClient(), resolverOptions.policyFetcher(),
                    resolverOptions.webPki(), resolverOptions.dnssec).check(outcome, report.probes()));
            if (outcome instanceof MxOutcome.Routes) {
                sts = report.security().map(SecurityReport::mtaSts);
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        if (json) {
            out.println(MxOutcomeJson.withMtaSts(CheckReportJson.of(report), sts.flatMap(MtaSts.Published::policy)).toString());
        } else {
            print(out, report);
            sts.ifPresent(p -> LookupCommand.printMtaSts(out, p));
            report.security().ifPresent(s -> printSecurity(out, s));
        }
        out.flush();
        if (report.dnsTemporaryFailure()) {
            return ExitCodes.TEMPORARY;
        }
        return report.hasErrors() ? ExitCodes.PERMANENT : ExitCodes.OK;
    }

    /** The MX security part of the text output: DNSSEC in force, each host's DANE and MTA-STS, TLS-RPT. */
    private static void printSecurity(PrintWriter out, SecurityReport s) {
        out.printf("%nMX security:%n");
        out.printf("  DNSSEC:   %s%n", s.validation().validating()
                ? "validating (--dnssec " + s.validation().mode() + "), MX records " + s.mxDnssec().text()
                : "not validated (--dnssec " + s.validation().mode() + ": " + s.validation().note() + ")");
        for (SecurityReport.HostSecurity h : s.hosts()) {
            out.printf("  %s (addresses %s)%n", h.host(), h.dnssec().text());
            out.printf("      DANE:     %s%s%n", h.dane().status().text(),
                    h.dane().status() == SecurityReport.DaneStatus.NOT_APPLICABLE ? "" : ": " + h.dane().detail());
            h.dane().tlsa().forEach(t -> out.printf("      TLSA:     %s%n", t));
            h.sts().ifPresent(sts -> {
                out.printf("      MTA-STS:  %s%n", sts.mxMatches() ? "matches the policy's mx" : "NOT among the policy's mx");
                sts.certificates().forEach(c -> out.printf("      Web PKI:  %s %s: %s%n", c.address(), c.valid() ? "valid" : "INVALID",
                        c.detail()));
            });
        }
        out.printf("  TLS-RPT:  %s: %s%n", s.tlsRpt().status().text(), s.tlsRpt().detail());
    }

    private static void print(PrintWriter out, CheckReport report) {
        LookupCommand.printTable(out, report.outcome());
        if (!report.probes().isEmpty()) {
            out.printf("%nSMTP probes, port %d:%n", report.port());
            for (HostProbe p : report.probes()) {
                ProbeResult r = p.result();
                String connect = r.connectMillis().isPresent() ? "connect " + r.connectMillis().getAsLong() + " ms" : "no connection";
                out.printf("  %s %s  %s%n", p.host(), AddressText.of(p.address()), connect);
                r.banner().ifPresent(b -> out.printf("      banner:     %s%n", b.summary()));
                if (r instanceof ProbeResult.Reached reached) {
                    String ext = reached.esmtp() ? reached.extensions().summary() : "(none: EHLO refused, HELO accepted)";
                    out.printf("      extensions: %s%n", ext.isEmpty() ? "(none)" : ext);
                    out.printf("      STARTTLS:   %s%n", reached.starttls() ? "yes" : "no");
                } else {
                    ProbeResult.Failed f = (ProbeResult.Failed) r;
                    out.printf("      failed:     %s (%s)%n", f.detail(), f.code());
                }
            }
        }
        Map<Severity, Long> counts = report.findings().stream()
                .collect(Collectors.groupingBy(Finding::severity, Collectors.counting()));
        out.printf("%nfindings: %s%n", report.findings().isEmpty() ? "none" : java.util.Arrays.stream(Severity.values())
                .map(s -> counts.getOrDefault(s, 0L) + " " + s.label() + (counts.getOrDefault(s, 0L) == 1 ? "" : "s"))
                .collect(Collectors.joining(", ")));
        Function<Finding, String> where = f -> f.host().map(h -> h + ": ").orElse("");
        for (Finding f : report.findings()) {
            out.printf("  %-7s %s%s%n", f.severity().label(), where.apply(f), f.message());
        }
    }
}
