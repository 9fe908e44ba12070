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

    /** The records of the asked type, owned by the last alias (or the name itself). */
    record Found(Name name, List<Name> aliases, List<Record> records) implements DnsAnswer {
        public Found {
            aliases = List.copyOf(aliases);
            records = List.copyOf(records);
        }
    }

    /** NXDOMAIN: the name (or the end of its alias chain) does not exist. */
    record NoSuchName(Name name, List<Name> aliases) implements DnsAnswer {
        public NoSuchName {
            aliases = List.copyOf(aliases);
        }
    }

    /** NOERROR with no records of the asked type (NODATA). */
    record NoData(Name name, List<Name> aliases) implements DnsAnswer {
        public NoData {
            aliases = List.copyOf(aliases);
        }
    }

    /** SERVFAIL, REFUSED, timeout, a broken chain: try again later. */
    record Failed(Name name, List<Name> aliases, String reason) implements DnsAnswer {
        public Failed {
            aliases = List.copyOf(aliases);
        }
    }
}
