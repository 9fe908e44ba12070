package dev.mxd.check;

import dev.mxd.smtp.AddressText;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.SkippedHost;
import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.client.PresentedCertificate;
import dev.mxd.smtp.client.ProbeResult;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Grades what the MX resolution and the SMTP probes show, the way an operator reads it: an
 * {@link Severity#ERROR} means mail to the domain fails, a {@link Severity#WARNING} means it flows
 * but something is fragile, insecure or against an RFC, a {@link Severity#NOTE} is worth knowing.
 * A pure function of its inputs, so every rule is unit-tested without a network.
 *
 * <p>Choices that are not obvious:
 * <ul>
 * <li>A null MX (RFC 7505) is a note: it is how a domain says on purpose that it takes no mail,
 *     and a check of a send-only domain should pass.</li>
 * <li>When every exchange is skipped for lack of addresses (or names an IP literal), the resolver
 *     calls that a temporary failure because DNS may change; here it is an error, because the
 *     domain's published data is wrong now. Only a DNS lookup that failed counts as temporary.</li>
 * <li>A greeting that names another host than the MX is a note, not a warning: pools behind one
 *     MX name and one machine serving many MX names greet with the machine's own name, and
 *     delivery never depends on it (certificate checks of DANE and MTA-STS use the MX name).</li>
 * <li>A backup MX that takes larger messages (SIZE, RFC 1870) than the primary is a warning: it
 *     accepts what the primary refuses later, and must then bounce it, possibly to a forged sender.
 *     Not an error: mail within the primary's limit flows.</li>
 * <li>Loopback and private addresses are flagged only for domains under public top-level
 *     domains; under .test, .local, home.arpa and the like they are what one expects.</li>
 * </ul>
 */
public final class Findings {

    private Findings() {}

    /** Findings for this outcome and these probes on {@code port}, errors first, then warnings, then notes. */
    public static List<Finding> of(MxOutcome outcome, List<HostProbe> probes, int port) {
        List<Finding> out = new ArrayList<>();
        domainFindings(outcome, out);
        for (SkippedHost s : outcome.skipped()) {
            skippedFinding(s, out);
        }
        for (String w : outcome.warnings()) {
            out.add(Finding.of(Severity.WARNING, w));
        }
        if (outcome instanceof MxOutcome.Routes routes) {
            routeFindings(routes, out);
        }
        probeFindings(outcome.domain(), probes, port, out);
        sizeFindings(probes, out);
        out.sort(Comparator.comparing(Finding::severity)); // stable: same-severity findings keep their order
        return List.copyOf(out);
    }

    /**
     * The MX lookup itself, or some exchange's address lookup, failed for now: nothing is known yet. An MX answer that
     * failed validation (bogus) is known: a fault of the zone that lasts until its signatures are fixed.
     */
    static boolean dnsTemporaryFailure(MxOutcome outcome) {
        return outcome instanceof MxOutcome.TemporaryFailure t && !bogusMx(t)
                && (t.skipped().isEmpty() || t.skipped().stream().anyMatch(s -> s.cause() == SkippedHost.Cause.LOOKUP_FAILED));
    }

    /** The error of a domain whose MX records fail DNSSEC validation, from the MX lookup or the security check. */
    static Finding bogusMxRecords(String domain) {
        return Finding.of(Severity.ERROR, "the DNSSEC signatures of " + domain + "'s MX records do not validate (bogus,"
                + " RFC 4035 §4.3): validating senders defer all its mail; fix the zone's signatures or its DS record");
    }

    private static boolean bogusMx(MxOutcome.TemporaryFailure t) {
        return t.skipped().isEmpty() && t.dnssec() == dev.mxd.dns.DnssecStatus.BOGUS;
    }

    private static void domainFindings(MxOutcome outcome, List<Finding> out) {
        String d = outcome.domain().ascii();
        if (outcome instanceof MxOutcome.NoSuchDomain) {
            out.add(Finding.of(Severity.ERROR, d + " does not exist in DNS (NXDOMAIN): nobody can send it mail;"
                    + " check the spelling, or that the zone is published and delegated"));
        } else if (outcome instanceof MxOutcome.NotMailEnabled n) {
            out.add(Finding.of(Severity.ERROR, n.error().orElseThrow()
                    + "; publish MX records naming hosts that run an SMTP server"));
        } else if (outcome instanceof MxOutcome.NullMx) {
            out.add(Finding.of(Severity.NOTE, d + " publishes a null MX (RFC 7505): it accepts no mail and senders bounce"
                    + " at once; right for a domain that sends no mail or only sends, otherwise replace it with MX records"));
        } else if (outcome instanceof MxOutcome.LoopsToSelf l) {
            out.add(Finding.of(Severity.ERROR, l.error().orElseThrow()
                    + "; this host must not be the best MX of a domain it relays for (RFC 5321 §5.1)"));
        } else if (outcome instanceof MxOutcome.TemporaryFailure t) {
            if (bogusMx(t)) {
                out.add(bogusMxRecords(d));
            } else if (dnsTemporaryFailure(t)) {
                out.add(Finding.of(Severity.ERROR, t.reason() + "; DNS could not answer now, so the check cannot tell"
                        + " anything: run it again later or ask another server with --dns"));
            } else {
                out.add(Finding.of(Severity.ERROR, "no MX host of " + d + " can be used: every one is skipped (see the"
                        + " findings for each); senders defer and finally bounce all mail for " + d));
            }
        }
    }

    private static void skippedFinding(SkippedHost s, List<Finding> out) {
        switch (s.cause()) {
            case IP_LITERAL -> out.add(Finding.about(Severity.ERROR, s.name(), "the MX (preference " + s.preference()
                    + ") names the IP address " + s.name() + " instead of a host name (RFC 5321 §5.1, RFC 1035 §3.3.9):"
                    + " senders skip it; publish a host name with A/AAAA records and point the MX at it"));
            case NO_ADDRESSES -> out.add(Finding.about(Severity.ERROR, s.name(), s.reason() + " (MX preference "
                    + s.preference() + "): senders skip it; publish its A or AAAA records or remove the MX record"));
            case ALIAS -> out.add(Finding.about(Severity.WARNING, s.name(), s.reason()
                    + "; skipped under --strict: point the MX at the canonical name"));
            case LOOKUP_FAILED -> out.add(Finding.about(Severity.WARNING, s.name(), s.reason() + "; not checked"));
            case BOGUS -> out.add(Finding.about(Severity.ERROR, s.name(), s.reason() + " (MX preference " + s.preference()
                    + "): validating senders do not use it; fix its zone's signatures or its DS record"));
            case LOCAL, NOT_BETTER_THAN_LOCAL -> out.add(Finding.about(Severity.NOTE, s.name(), "not checked: " + s.reason()));
        }
    }

    private static void routeFindings(MxOutcome.Routes routes, List<Finding> out) {
        String d = routes.domain().ascii();
        List<MxHost> hosts = routes.hosts();
        for (MxHost h : hosts) {
            for (String w : h.warnings()) { // includes RFC 2181 §10.3 for an MX that is a CNAME
                out.add(Finding.about(Severity.WARNING, h.name(), w));
            }
        }
        boolean publicDomain = dev.mxd.dns.AddressScope.isPublicDomain(d);
        for (MxHost h : hosts) {
            for (InetAddress a : h.addresses()) {
                // a warning for a public domain; under a special-use name (.test, .local, home.arpa) such addresses are
                // expected, and said as a note: mail from elsewhere still cannot reach them
                dev.mxd.dns.AddressScope.nonPublic(a).ifPresent(kind -> out.add(publicDomain
                        ? Finding.about(Severity.WARNING, h.name(), h.name() + " has " + AddressText.of(a) + ", " + kind + ", but " + d
                                + " is a public domain: senders elsewhere cannot reach it there; publish the server's public address")
                        : Finding.about(Severity.NOTE, h.name(), h.name() + " has " + AddressText.of(a) + ", " + kind + ": expected for "
                                + d + ", a special-use name that is not in the public DNS; only senders on this host or network"
                                + " reach it")));
            }
        }
        Set<InetAddress> distinct = new LinkedHashSet<>();
        hosts.forEach(h -> distinct.addAll(h.addresses()));
        if (hosts.size() > 1 && distinct.size() == 1) {
            out.add(Finding.of(Severity.WARNING, "all " + hosts.size() + " MX hosts of " + d + " resolve to the one address "
                    + AddressText.of(distinct.iterator().next()) + ": no redundancy, a backup MX on the same machine"
                    + " is down whenever the primary is; put a backup MX on another machine"));
        }
        if (routes.implicit()) {
            out.add(Finding.of(Severity.NOTE, d + " has no MX records: senders use its own address records as an implicit"
                    + " MX (RFC 5321 §5.1); publish an MX record to say so explicitly"));
        } else if (hosts.size() == 1) {
            out.add(Finding.about(Severity.NOTE, hosts.get(0).name(), "only one usable MX host (" + hosts.get(0).name()
                    + "): while it is down, senders queue mail for " + d + " and retry; a backup MX adds redundancy"));
        }
        Map<Integer, List<String>> byPreference = new TreeMap<>();
        hosts.forEach(h -> byPreference.computeIfAbsent(h.preference(), p -> new ArrayList<>()).add(h.name()));
        byPreference.forEach((pref, names) -> {
            if (names.size() > 1) {
                out.add(Finding.of(Severity.NOTE, String.join(", ", names) + " share preference " + pref
                        + ": senders pick among them at random, which spreads the load (RFC 5321 §5.1)"));
            }
        });
    }

    private static void probeFindings(MailDomain domain, List<HostProbe> probes, int port, List<Finding> out) {
        for (HostProbe p : probes) {
            String at = p.host() + " (" + AddressText.of(p.address()) + ")";
            if (p.result() instanceof ProbeResult.Failed f) {
                out.add(Finding.about(Severity.WARNING, p.host(), f.detail()));
            } else if (p.result() instanceof ProbeResult.Reached r) {
                if (!r.starttls()) {
                    out.add(Finding.about(Severity.WARNING, p.host(), at + " does not offer STARTTLS (RFC 3207): mail to it"
                            + " crosses the network in clear text; give the server a certificate and enable STARTTLS"));
                }
                r.tls().ifPresent(tls -> tlsFindings(p.host(), at, tls, java.time.Instant.now(), out));
                String named = MailDomain.normalizeHost(EhloExtensions.firstWord(r.greeting().firstLine()));
                if (!named.equals(MailDomain.normalizeHost(p.host()))) {
                    out.add(Finding.about(Severity.NOTE, p.host(), at + " calls itself '" + named + "' in its greeting,"
                            + " not " + p.host() + ": harmless for delivery, but it helps people reading logs"
                            + " when the names match"));
                }
            }
        }
        if (!probes.isEmpty() && probes.stream().noneMatch(HostProbe::reached)) {
            String hosts = probes.stream().map(HostProbe::host).distinct().collect(Collectors.joining(", "));
            out.add(Finding.of(Severity.ERROR, "no MX host of " + domain.ascii() + " accepted an SMTP session on port " + port
                    + " (tried " + probes.size() + " address" + (probes.size() == 1 ? "" : "es") + " of " + hosts
                    + "): mail cannot be delivered now; senders queue it, retry, and finally bounce it"));
        }
    }

    /**
     * RFC 1870 SIZE across preferences: the primary is the best preference any probe reached; its
     * smallest SIZE is what the domain takes in the end. A host of a worse preference that announces
     * more (or no limit: no SIZE, or SIZE 0) accepts messages the primary will refuse, and must bounce
     * them later instead of refusing them at MAIL: one warning per such host, naming both sizes.
     */
    private static void sizeFindings(List<HostProbe> probes, List<Finding> out) {
        List<HostProbe> reached = probes.stream().filter(HostProbe::reached).toList();
        if (reached.isEmpty()) {
            return;
        }
        int best = reached.stream().mapToInt(HostProbe::preference).min().orElseThrow();
        List<HostProbe> primaries = reached.stream().filter(p -> p.preference() == best).toList();
        if (primaries.stream().anyMatch(p -> size(p).isEmpty())) {
            return; // a primary without a limit (or one not announced): nothing a backup can exceed for sure
        }
        HostProbe primary = primaries.stream().min(Comparator.comparingLong(p -> size(p).getAsLong())).orElseThrow();
        long limit = size(primary).getAsLong();
        Set<String> told = new LinkedHashSet<>();
        for (HostProbe p : reached) {
            if (p.preference() == best || !told.add(p.host())) {
                continue;
            }
            java.util.OptionalLong backup = size(p);
            if (backup.isEmpty() || backup.getAsLong() > limit) {
                String theirs = backup.isEmpty() ? "announces no SIZE limit" : "takes messages up to " + backup.getAsLong()
                        + " bytes (SIZE)";
                out.add(Finding.about(Severity.WARNING, p.host(), "backup MX " + p.host() + " (preference " + p.preference() + ") "
                        + theirs + ", but the primary " + primary.host() + " (preference " + best + ") only " + limit
                        + " bytes: the backup accepts messages the primary will refuse, and must bounce them later, possibly"
                        + " to a forged sender; give the backup a SIZE no larger than " + limit));
            }
        }
    }

    private static java.util.OptionalLong size(HostProbe p) {
        return ((ProbeResult.Reached) p.result()).extensions().maxSize();
    }

    /** How long before its end a certificate's renewal is worth a note. */
    private static final java.time.Duration RENEW_SOON = java.time.Duration.ofDays(14);

    /**
     * The certificate an MX presents after STARTTLS. Opportunistic senders take any certificate, so
     * nothing here stops mail today; but senders that authenticate the MX (MTA-STS, RFC 8461 §4.2; DANE
     * with PKIX usages, RFC 7672) defer mail to a host whose certificate is expired, not yet valid, or
     * not for its name, so those are warnings; a key under 2048 bits is one too (RFC 8446 and current
     * CA rules ask for 2048); a self-signed certificate is a note (DANE-EE can authenticate it).
     */
    static void tlsFindings(String host, String at, ProbeResult.Tls tls, java.time.Instant now, List<Finding> out) {
        if (tls instanceof ProbeResult.Tls.Failed f) {
            out.add(Finding.about(Severity.WARNING, host, f.detail() + ": senders that try TLS fall back to clear text"
                    + " or defer; check the server's certificate and key"));
            return;
        }
        PresentedCertificate c = ((ProbeResult.Tls.Presented) tls).certificate();
        if (c.notAfter().isBefore(now)) {
            out.add(Finding.about(Severity.WARNING, host, at + " presents a certificate that expired on " + c.notAfter()
                    + ": senders that authenticate the MX (MTA-STS, DANE) defer its mail; renew the certificate"));
        } else if (c.notBefore().isAfter(now)) {
            out.add(Finding.about(Severity.WARNING, host, at + " presents a certificate not valid before " + c.notBefore()
                    + ": check the server's clock and the certificate"));
        } else if (c.notAfter().isBefore(now.plus(RENEW_SOON))) {
            out.add(Finding.about(Severity.NOTE, host, at + "'s certificate expires on " + c.notAfter() + ": renew it soon"));
        }
        c.rsaBits().filter(bits -> bits < 2048).ifPresent(bits -> out.add(Finding.about(Severity.WARNING, host, at
                + " presents a " + bits + "-bit RSA key: use at least 2048 bits (or an EC key)")));
        if (!c.namesHost(host)) {
            out.add(Finding.about(Severity.WARNING, host, at + "'s certificate is for " + c.names() + ", not " + host
                    + ": senders that authenticate the MX (MTA-STS) defer its mail; add the MX name to the certificate"));
        }
        if (c.selfSigned()) {
            out.add(Finding.about(Severity.NOTE, host, at + " presents a self-signed certificate: fine for opportunistic"
                    + " TLS and DANE-EE, but MTA-STS senders need one from a public CA"));
        }
    }
}
