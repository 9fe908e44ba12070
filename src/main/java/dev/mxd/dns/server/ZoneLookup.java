package dev.mxd.dns.server;

import org.xbill.DNS.RRset;

/**
 * What one zone holds for one name and type (RFC 1034 §4.3.2 step 3), before the answer is
 * assembled into a message. Records synthesised from a wildcard already carry the query name.
 */
public sealed interface ZoneLookup {

    /** The RRset asked for (for type ANY, the one RRset that answers it: RFC 8482 §4.2). */
    record Found(RRset rrset) implements ZoneLookup {}

    /**
     * A query for type RRSIG: the signatures at the name over one of its RRsets, as Knot answers it, with or without DO
     * (NODATA there was contradicted by the name's own NSEC, whose bitmap has RRSIG).
     */
    record Signatures(java.util.List<org.xbill.DNS.Record> rrsigs) implements ZoneLookup {}

    /** The name is an alias: the CNAME RRset; the answer continues at its target. */
    record Alias(RRset cname) implements ZoneLookup {}

    /** The name is at or below a zone cut: the child's NS RRset (RFC 1034 §4.3.2 step 3b). */
    record Referral(RRset ns) implements ZoneLookup {}

    /** The name exists (perhaps as an empty non-terminal) but has no data of this type. */
    record NoData() implements ZoneLookup {}

    /** The name does not exist and no wildcard covers it. */
    record NxDomain() implements ZoneLookup {}
}
