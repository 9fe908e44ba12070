package dev.mxd.cli;

import dev.mxd.smtp.AddressText;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.SkippedHost;
import dev.mxd.tls.MtaSts;
import dev.mxd.tls.StsPolicy;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mxd lookup}: the mail exchangers a delivery to DOMAIN would try, in order. */
@Command(name = "lookup", mixinStandardHelpOptions = true,
        description = {"Resolve DOMAIN's mail exchangers as a sending MTA must (RFC 5321 §5.1, RFC 7505).",
                "Answers are DNSSEC-validated as --dnssec says; a bogus answer is a temporary failure.",
                "Exit status: 0 routes, 1 permanent failure, 75 temporary failure (a bogus DNSSEC answer too), 64 usage error."},
        footer = {"", "Examples:", "  mxd lookup example.org",
                "  mxd lookup --dns 127.0.0.1:5354 --local-name mx2.example.test --json example.test",
                "  mxd lookup --dns 127.0.0.1:5354 --dnssec validate --trust-anchor secure.test.ds secure.test",
                "  mxd lookup --dns 127.0.0.1:5354 --ca-file test-ca.pem --json sts.test"})
final class LookupCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DOMAIN", description = "The mail domain (Unicode or A-labels).")
    String domain;

    @Mixin
    ResolverOptions resolverOptions;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // MTA-STS policies and HTTP status lines are a server's own text: its control characters are shown, not obeyed
        PrintWriter out = TerminalText.guard(spec.commandLine().getOut());
        MailDomain parsed;
        try {
            parsed = ResolverOptions.domainArgument(domain);
            dev.mxd.dns.MxResolver resolver = resolverOptions.resolver();
            MxOutcome outcome = resolver.resolve(parsed);
            // MTA-STS matters only where there are MX hosts to deliver to
            Optional<MtaSts.Published> sts = outcome instanceof MxOutcome.Routes
                    ? Optional.of(MtaSts.published(resolverOptions.dnsClient(), resolverOptions.policyFetcher(), parsed.ascii()))
                    : Optional.empty();
            java.util.function.Function<MxHost, Optional<dev.mxd.dns.DnsAnswer>> tlsa =
                    memo(tlsaOf(outcome, new dev.mxd.dns.TlsaLookup(resolver.dns())));
            // delivery applies DANE before MTA-STS (RFC 8461 §2): a host with usable TLSA records is used whatever the policy
            java.util.function.Predicate<MxHost> dane = h -> tlsa.apply(h)
                    .map(a -> !dev.mxd.dns.TlsaLookup.texts(a).isEmpty()).orElse(false);
            Optional<StsPolicy> enforced = sts.flatMap(MtaSts.Published::policy).filter(p -> p.mode() == StsPolicy.Mode.ENFORCE);
            if (json) {
                out.println(MxOutcomeJson.withMtaSts(MxOutcomeJson.of(outcome, tlsa), sts.flatMap(MtaSts.Published::policy)).toString());
            } else {
                printTable(out, outcome);
                sts.ifPresent(p -> printMtaSts(out, p));
                if (enforced.isPresent() && outcome instanceof MxOutcome.Routes r) {
                    // RFC 8461 §4.1: delivery passes over the hosts the enforced policy's mx patterns do not match
                    for (MxHost h : r.hosts()) {
                        if (!enforced.get().matches(h.name()) && !dane.test(h)) {
                            out.printf("  not used: %s is not among the MTA-STS policy's mx (mode enforce)%n", h.name());
                        }
                    }
                    if (MxOutcomeJson.noneEnforced(r, enforced, dane)) {
                        out.println("MTA-STS enforce leaves no MX host: delivery defers (4.7.5) until the policy or the MX records change");
                    }
                }
            }
            out.flush();
            return MxOutcomeJson.exitCode(outcome, enforced, dane);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    /** The MTA-STS line of the text output. */
    static void printMtaSts(PrintWriter out, MtaSts.Published published) {
        if (published.policy().isPresent()) {
            StsPolicy p = published.policy().get();
            out.printf("MTA-STS: mode %s, mx %s, max_age %d (%s)%n", p.mode().text(), String.join(" ", p.mx()), p.maxAge(),
                    published.detail());
        } else {
            out.printf("MTA-STS: none (%s)%n", published.detail());
        }
    }

    /** {@code f} asked once an argument: a host's TLSA answer serves the JSON, the text and the exit status alike. */
    private static <T, R> java.util.function.Function<T, R> memo(java.util.function.Function<T, R> f) {
        java.util.Map<T, R> seen = new java.util.IdentityHashMap<>();
        return t -> seen.computeIfAbsent(t, f);
    }

    /** TLSA answers for the hosts DANE would look them up for (RFC 7672 §2.2: secure MX RRset, secure host). */
    private static java.util.function.Function<dev.mxd.dns.MxHost, java.util.Optional<dev.mxd.dns.DnsAnswer>> tlsaOf(
            MxOutcome outcome, dev.mxd.dns.TlsaLookup lookup) {
        return host -> outcome.dnssec() == dev.mxd.dns.DnssecStatus.SECURE && host.dnssec() == dev.mxd.dns.DnssecStatus.SECURE
                ? java.util.Optional.of(tlsaAsDelivery(lookup, host)) : java.util.Optional.empty();
    }

    /**
     * The TLSA answer delivery uses for {@code host} (RFC 7672 §2.2.2): for a secure alias, the expanded name's when it
     * has records there (or its lookup failed), else the MX host name's, as DanePolicies decides it.
     */
    static dev.mxd.dns.DnsAnswer tlsaAsDelivery(dev.mxd.dns.TlsaLookup lookup, MxHost host) {
        Optional<String> expanded = host.secureExpansion();
        if (expanded.isPresent()) {
            dev.mxd.dns.DnsAnswer there = tlsa(lookup, expanded.get());
            if (!dev.mxd.dns.TlsaLookup.holdsNoRecords(there)) {
                return there;
            }
        }
        return tlsa(lookup, host.name());
    }

    /** The TLSA answer, or why there is none: a host of 247 or more octets has no TLSA name (RFC 7672 §2.2), as delivery finds. */
    static dev.mxd.dns.DnsAnswer tlsa(dev.mxd.dns.TlsaLookup lookup, String host) {
        try {
            return lookup.lookup(host);
        } catch (IllegalArgumentException tooLong) {
            return new dev.mxd.dns.DnsAnswer.Failed(org.xbill.DNS.Name.root, java.util.List.of(), "no TLSA name for " + host
                    + " (_25._tcp. before it is over 255 octets); delivery does not use the host");
        }
    }

    static void printTable(PrintWriter out, MxOutcome outcome) {
        String ascii = outcome.domain().ascii();
        String shown = outcome.domain().given().equals(ascii) ? ascii : outcome.domain().given() + " (" + ascii + ")";
        if (outcome instanceof MxOutcome.Routes r) {
            out.printf("%s: %d mail exchanger%s%s, in the order delivery tries them (DNSSEC: %s)%n", shown, r.hosts().size(),
                    r.hosts().size() == 1 ? "" : "s",
                    r.implicit() ? " (implicit MX: no MX records, the domain's own address)" : "", r.dnssec().text());
            int width = Math.max(4, r.hosts().stream().mapToInt(h -> h.name().length()).max().orElse(4));
            out.printf("  %-5s %-" + width + "s  %-8s  %s%n", "PREF", "HOST", "DNSSEC", "ADDRESSES");
            for (MxHost h : r.hosts()) {
                String addrs = h.addresses().stream().map(AddressText::of).collect(Collectors.joining(", "));
                out.printf("  %-5d %-" + width + "s  %-8s  %s%n", h.preference(), h.name(), h.dnssec().text(), addrs);
                for (String w : h.warnings()) {
                    out.printf("        warning: %s%n", w);
                }
            }
        } else {
            out.printf("%s: %s (%s): %s (DNSSEC: %s)%n", shown, outcome.kind(), outcome.status(), outcome.error().orElse(""),
                    outcome.dnssec().text());
        }
        if (!outcome.skipped().isEmpty()) {
            out.println("skipped:");
            for (SkippedHost s : outcome.skipped()) {
                out.printf("  %-5d %s: %s%n", s.preference(), s.name(), s.reason());
            }
        }
        for (String w : outcome.warnings()) {
            out.printf("warning: %s%n", w);
        }
    }
}
