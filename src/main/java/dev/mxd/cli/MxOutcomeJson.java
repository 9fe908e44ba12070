package dev.mxd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.smtp.AddressText;
import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.SkippedHost;
import dev.mxd.tls.StsPolicy;
import dev.mxd.dns.TlsaLookup;
import java.net.InetAddress;

/** The JSON form of an {@link MxOutcome}, as {@code mxd lookup --json} prints it. */
final class MxOutcomeJson {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private MxOutcomeJson() {}

    static ObjectNode of(MxOutcome outcome) {
        return of(outcome, host -> java.util.Optional.empty());
    }

    /**
     * As {@link #of(MxOutcome)}, with each host's TLSA records (RFC 7672) from {@code tlsa}: {@code "tlsa"} lists
     * them as text, {@code "tlsa_dnssec"} is the TLSA answer's status (null when not looked up: an insecure MX
     * RRset or host, for which DANE does not apply), {@code "tlsa_error"} why the lookup failed.
     */
    static ObjectNode of(MxOutcome outcome, java.util.function.Function<MxHost, java.util.Optional<DnsAnswer>> tlsa) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("domain", outcome.domain().given());
        o.put("ascii", outcome.domain().ascii());
        o.put("outcome", outcome.kind());
        o.put("status", outcome.status().toString());
        o.put("implicit", outcome instanceof MxOutcome.Routes r && r.implicit());
        o.put("dnssec", outcome.dnssec().text());
        ArrayNode hosts = o.putArray("hosts");
        if (outcome instanceof MxOutcome.Routes r) {
            for (MxHost h : r.hosts()) {
                ObjectNode hn = hosts.addObject();
                hn.put("preference", h.preference());
                hn.put("name", h.name());
                ArrayNode addrs = hn.putArray("addresses");
                for (InetAddress a : h.addresses()) {
                    addrs.add(AddressText.of(a));
                }
                hn.put("dnssec", h.dnssec().text());
                putTlsa(hn, tlsa.apply(h));
                ArrayNode w = hn.putArray("warnings");
                h.warnings().forEach(w::add);
            }
        }
        ArrayNode skipped = o.putArray("skipped");
        for (SkippedHost s : outcome.skipped()) {
            ObjectNode sn = skipped.addObject();
            sn.put("preference", s.preference());
            sn.put("name", s.name());
            sn.put("reason", s.reason());
        }
        ArrayNode warnings = o.putArray("warnings");
        outcome.warnings().forEach(warnings::add);
        if (outcome.error().isPresent()) {
            o.put("error", outcome.error().get());
        } else {
            o.putNull("error");
        }
        return o;
    }

    /** Adds {@code "mta_sts": {"mode", "mx", "max_age"}}, or null when the domain has no usable policy. */
    static ObjectNode withMtaSts(ObjectNode o, java.util.Optional<StsPolicy> policy) {
        if (policy.isEmpty()) {
            o.putNull("mta_sts");
            return o;
        }
        ObjectNode sts = o.putObject("mta_sts");
        sts.put("mode", policy.get().mode().text());
        ArrayNode mx = sts.putArray("mx");
        policy.get().mx().forEach(mx::add);
        sts.put("max_age", policy.get().maxAge());
        if (policy.get().mode() == StsPolicy.Mode.ENFORCE && o.path("hosts").isArray()) {
            // RFC 8461 §4.1: under enforce, delivery uses only the hosts the policy's mx patterns match
            for (com.fasterxml.jackson.databind.JsonNode h : o.path("hosts")) {
                ((ObjectNode) h).put("mta_sts_match", policy.get().matches(h.path("name").asText()));
            }
        }
        return o;
    }

    /**
     * The exit status of {@code mxd lookup}: {@link #exitCode(MxOutcome)}, but 75 (delivery defers, 4.7.5) when an
     * enforced MTA-STS policy leaves no MX host to deliver to.
     */
    static int exitCode(MxOutcome outcome, java.util.Optional<StsPolicy> policy, java.util.function.Predicate<MxHost> dane) {
        if (outcome instanceof MxOutcome.Routes r && noneEnforced(r, policy, dane)) {
            return dev.mxd.cli.ExitCodes.TEMPORARY;
        }
        return exitCode(outcome);
    }

    /**
     * Whether an enforced policy leaves delivery no host: none matches its mx patterns, and none is authenticated by
     * DANE instead ({@code dane}: the host has usable TLSA records, which delivery applies before MTA-STS).
     */
    static boolean noneEnforced(MxOutcome.Routes r, java.util.Optional<StsPolicy> policy, java.util.function.Predicate<MxHost> dane) {
        return policy.isPresent() && policy.get().mode() == StsPolicy.Mode.ENFORCE
                && r.hosts().stream().noneMatch(h -> policy.get().matches(h.name()) || dane.test(h));
    }

    private static void putTlsa(ObjectNode host, java.util.Optional<DnsAnswer> answer) {
        ArrayNode records = host.putArray("tlsa");
        if (answer.isEmpty()) {
            host.putNull("tlsa_dnssec");
            host.putNull("tlsa_error");
            return;
        }
        TlsaLookup.texts(answer.get()).forEach(records::add);
        host.put("tlsa_dnssec", answer.get().dnssec().text());
        if (answer.get() instanceof DnsAnswer.Failed f) {
            host.put("tlsa_error", f.reason());
        } else {
            host.putNull("tlsa_error");
        }
    }

    static int exitCode(MxOutcome outcome) {
        if (outcome.dnssec() == DnssecStatus.BOGUS) {
            return ExitCodes.TEMPORARY; // RFC 4035 §4.3: bogus data is never used, and may validate later
        }
        if (outcome instanceof MxOutcome.Routes) {
            return ExitCodes.OK;
        }
        return outcome.permanent() ? ExitCodes.PERMANENT : ExitCodes.TEMPORARY;
    }
}
