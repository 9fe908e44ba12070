package dev.mxd.dns;

import java.util.List;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * What DNS said about one (name, type) question, after following CNAMEs.
 * Temporary failure is a value here, never an exception (RFC 5321 §5.1: defer, never bounce).
 */
public sealed interface DnsAnswer {

    /** The question's name. */
    Name name();

    /** CNAME targets followed from the question's name, in order; empty when the name is canonical. */
    List<Name> aliases();

    /**
     * The answer's DNSSEC status, alias chain included: {@link DnssecStatus#INSECURE} when validation is off.
     * A {@link Failed} answer is {@link DnssecStatus#BOGUS} when validation failed, else insecure.
     */
    DnssecStatus dnssec();

    /** The records of the asked type, owned by the last alias (or the name itself). */
    record Found(Name name, List<Name> aliases, List<Record> records, DnssecStatus dnssec) implements DnsAnswer {
        /** An answer that was not validated. */
        public Found(Name name, List<Name> aliases, List<Record> records) {
            this(name, aliases, records, DnssecStatus.INSECURE);
        }

        public Found {
            aliases = List.copyOf(aliases);
            records = List.copyOf(records);
        }
    }

    /** NXDOMAIN: the name (or the end of its alias chain) does not exist. */
    record NoSuchName(Name name, List<Name> aliases, DnssecStatus dnssec) implements DnsAnswer {
        /** An answer that was not validated. */
        public NoSuchName(Name name, List<Name> aliases) {
            this(name, aliases, DnssecStatus.INSECURE);
        }

        public NoSuchName {
            aliases = List.copyOf(aliases);
        }
    }

    /** NOERROR with no records of the asked type (NODATA). */
    record NoData(Name name, List<Name> aliases, DnssecStatus dnssec) implements DnsAnswer {
        /** An answer that was not validated. */
        public NoData(Name name, List<Name> aliases) {
            this(name, aliases, DnssecStatus.INSECURE);
        }

        public NoData {
            aliases = List.copyOf(aliases);
        }
    }

    /** SERVFAIL, REFUSED, timeout, a broken chain: try again later. */
    record Failed(Name name, List<Name> aliases, String reason, DnssecStatus dnssec) implements DnsAnswer {
        /** An answer that was not validated. */
        public Failed(Name name, List<Name> aliases, String reason) {
            this(name, aliases, reason, DnssecStatus.INSECURE);
        }

        public Failed {
            aliases = List.copyOf(aliases);
        }
    }
}
