package dev.mxd.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * One mail exchanger to try: its preference, name, addresses in try order, what is odd about it, the
 * DNSSEC status of its address records (secure only when every address answer validated), and, when the
 * name is an alias, the name its addresses were found at after following CNAMEs ({@code null} otherwise).
 * That expanded name comes from the very answers the addresses came from, so DANE never has to ask again
 * (RFC 7672 §2.2.2: it is the TLSA base domain when the chain is secure).
 */
public record MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings, DnssecStatus dnssec,
                     String alias) {
    /** A host whose addresses were not validated. */
    public MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings) {
        this(preference, name, addresses, warnings, DnssecStatus.INSECURE);
    }

    /** A host that is no alias. */
    public MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings, DnssecStatus dnssec) {
        this(preference, name, addresses, warnings, dnssec, null);
    }

    public MxHost {
        addresses = List.copyOf(addresses);
        warnings = List.copyOf(warnings);
    }

    /**
     * The expanded name when the host is an alias and its address answers (the CNAME chain with them) validated
     * as secure: the candidate TLSA base domain of RFC 7672 §2.2.2. Empty for a host that is no alias or whose
     * chain is not secure.
     */
    public Optional<String> secureExpansion() {
        return alias != null && dnssec == DnssecStatus.SECURE ? Optional.of(alias) : Optional.empty();
    }
}
