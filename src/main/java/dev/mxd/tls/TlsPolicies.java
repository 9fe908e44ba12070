package dev.mxd.tls;

import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;

/**
 * Decides, per destination and MX host, what TLS its delivery must use ({@link HostTls}). The remote
 * delivery agent asks before it connects to a host.
 */
public interface TlsPolicies {

    /** No DANE, no MTA-STS: opportunistic STARTTLS everywhere (mxd before issue 17, and tests that want it). */
    TlsPolicies OPPORTUNISTIC = (destination, routes) -> host -> new HostTls.Opportunistic();

    /**
     * The decisions for the hosts of {@code routes}, the MX plan of {@code destination}'s mail. Work that
     * concerns the whole domain (an MTA-STS policy fetch) is done here, once per delivery attempt.
     *
     * @param destination the mail domain; the policy domain of DANE and MTA-STS
     * @param routes      its MX plan, with the DNSSEC status of the MX RRset and of each host's addresses
     */
    ForDomain forDomain(Destination destination, MxOutcome.Routes routes);

    /**
     * The policies in order of precedence: for each host, the first decision of {@code order} that is not
     * {@link HostTls.Opportunistic} (DANE before MTA-STS: RFC 8461 §2, a host with usable TLSA records is
     * authenticated by them). A host whose TLSA records are all unusable ({@link HostTls.Encrypted}: TLS
     * without a certificate check) takes a later policy's {@link HostTls.Authenticated} or
     * {@link HostTls.Unusable} instead, so an MTA-STS {@code enforce} policy still holds for it.
     */
    static TlsPolicies inOrder(java.util.List<TlsPolicies> order) {
        java.util.List<TlsPolicies> policies = java.util.List.copyOf(order);
        return (destination, routes) -> {
            java.util.List<ForDomain> each = policies.stream().map(p -> p.forDomain(destination, routes)).toList();
            return host -> {
                HostTls encrypted = null;
                boolean unknown = false;
                java.util.Optional<TlsResults.Failure> failure = java.util.Optional.empty();
                for (ForDomain d : each) {
                    HostTls decision = d.forHost(host);
                    unknown |= decision instanceof HostTls.Opportunistic o && o.policyUnknown();
                    if (failure.isEmpty() && decision instanceof HostTls.Opportunistic o) {
                        failure = o.policyFailure();
                    }
                    if (encrypted == null && decision instanceof HostTls.Encrypted e) {
                        encrypted = e;
                    } else if (encrypted == null && !(decision instanceof HostTls.Opportunistic)) {
                        return decision;
                    } else if (encrypted != null && (decision instanceof HostTls.Authenticated || decision instanceof HostTls.Unusable)) {
                        return decision;
                    }
                }
                return encrypted != null ? encrypted : new HostTls.Opportunistic(unknown, failure);
            };
        };
    }

    /** The decisions for one domain's hosts. */
    @FunctionalInterface
    interface ForDomain {
        HostTls forHost(MxHost host);
    }

    /**
     * Where the mail goes: {@code domain} and whether a relay host or route (delivery.relay-host,
     * delivery.routes) replaces its own MX hosts ({@code relayed}: then the domain's MTA-STS policy,
     * which is about its own MX, does not apply; DANE still does for a relay found by a secure MX
     * lookup). {@code relayDomain}: a relay found by the MX lookup of a domain, whose own MTA-STS
     * policy applies instead (RFC 8461 §3.4: the smart host domain is the policy domain).
     */
    record Destination(String domain, boolean relayed, java.util.Optional<String> relayDomain) {
        public Destination(String domain, boolean relayed) {
            this(domain, relayed, java.util.Optional.empty());
        }
    }
}
