package dev.mxd.demo;

import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsResults;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What {@code mxd demo --secure} hears from its nodes' deliveries: every session's TLS outcome,
 * told by the remote delivery agent of the sender and of the backups ({@link TlsResults}), counted
 * per MX host and outcome, so that the timeline can say which hosts were authenticated and how:
 * "mx1.example.test: DANE-EE authenticated (TLS 1.3)", "opportunistic TLS, not authenticated
 * (TLS 1.3)", or the failure.
 */
final class DemoTlsLog implements TlsResults {

    /** Host → outcome → sessions, hosts in name order, outcomes in the order first seen. */
    private final Map<String, Map<String, Integer>> outcomes = new TreeMap<>();

    @Override
    public void record(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure) {
        count(host, describe(tls, failure, Optional.empty()));
    }

    @Override
    public void opened(String domain, String host, InetAddress address, HostTls tls, Optional<Failure> failure,
                       Session session) {
        count(host, describe(tls, failure, Optional.of(session)));
    }

    private synchronized void count(String host, String outcome) {
        outcomes.computeIfAbsent(host, h -> new LinkedHashMap<>()).merge(outcome, 1, Integer::sum);
    }

    /** One line per host and outcome, for {@code hosts} (the demo's MX hosts; one no session reached says so). */
    synchronized List<String> lines(List<String> hosts) {
        List<String> out = new ArrayList<>();
        for (String host : hosts) {
            Map<String, Integer> seen = outcomes.getOrDefault(host, Map.of());
            if (seen.isEmpty()) {
                out.add(host + ": no delivery session was opened to it");
            }
            seen.forEach((outcome, n) -> out.add(host + ": " + outcome + ", " + n + (n == 1 ? " session" : " sessions")));
        }
        return out;
    }

    /** How one session's TLS went, in the timeline's words. */
    static String describe(HostTls tls, Optional<Failure> failure, Optional<Session> session) {
        String version = session.flatMap(Session::protocol).map(DemoTlsLog::version).orElse("");
        if (tls instanceof HostTls.Unusable u) {
            return "not used: " + u.reason() + " (" + u.resultType() + ")";
        }
        if (failure.isPresent()) {
            Failure f = failure.get();
            String how = tls instanceof HostTls.Opportunistic ? "" : " under " + policyName(tls);
            return "TLS FAILED" + how + ": " + f.resultType() + " (" + f.detail() + ")";
        }
        if (version.isEmpty()) {
            return "no TLS"; // only a session that failed TLS gets here without a protocol, and it has a failure
        }
        Optional<String> matched = session.flatMap(Session::authenticated);
        if (tls instanceof HostTls.Authenticated a && matched.isPresent()) {
            String how = matched.get();
            String label = how.split("[( ]", 2)[0];
            return (label.isEmpty() ? a.authentication().method() : label) + " authenticated (" + version + "), matched by " + how;
        }
        if (tls instanceof HostTls.Encrypted) {
            return "TLS required by DANE, not authenticated: no usable TLSA record (" + version + ")";
        }
        if (tls instanceof HostTls.Tested && matched.isPresent()) {
            return "MTA-STS testing: certificate valid (" + version + "), matched by " + matched.get();
        }
        return "opportunistic TLS, not authenticated (" + version + ")";
    }

    private static String policyName(HostTls tls) {
        return switch (tls.policy().type()) {
            case "tlsa" -> "DANE";
            case "sts" -> "MTA-STS";
            default -> tls.policy().type();
        };
    }

    /** "TLSv1.3" → "TLS 1.3". */
    static String version(String protocol) {
        return protocol.startsWith("TLSv") ? "TLS " + protocol.substring(4) : protocol;
    }
}
