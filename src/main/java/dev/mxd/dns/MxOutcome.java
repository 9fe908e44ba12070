package dev.mxd.dns;

import dev.mxd.smtp.EnhancedStatus;
import java.util.List;
import java.util.Optional;

/**
 * The result of resolving a mail domain into mail exchangers (RFC 5321 §5.1, RFC 7505).
 * Exactly one of: routes to try, or a permanent or temporary reason there are none.
 */
public sealed interface MxOutcome {

    MailDomain domain();

    /** Exchanges that were looked at and will not be tried, with reasons. */
    List<SkippedHost> skipped();

    /** Things wrong with the domain's DNS that did not stop delivery. */
    List<String> warnings();

    /**
     * The DNSSEC status of the domain's own answers (MX, or A/AAAA for an implicit MX): secure only when every one
     * of them validated; {@link DnssecStatus#BOGUS} makes the outcome a {@link TemporaryFailure}.
     */
    DnssecStatus dnssec();

    /** The outcome's name as {@code mxd lookup --json} prints it. */
    String kind();

    /** The RFC 3463 enhanced status code a failure carries; 2.0.0 for routes. */
    EnhancedStatus status();

    /** One sentence saying what is wrong, empty for routes. */
    Optional<String> error();

    /** True when retrying later cannot help. */
    default boolean permanent() {
        return status().permanent();
    }

    /** Hosts in the order a delivery attempt tries them; {@code implicit} when they come from the domain's own A/AAAA. */
    record Routes(MailDomain domain, boolean implicit, List<MxHost> hosts, List<SkippedHost> skipped,
                  List<String> warnings, DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public Routes(MailDomain domain, boolean implicit, List<MxHost> hosts, List<SkippedHost> skipped, List<String> warnings) {
            this(domain, implicit, hosts, skipped, warnings, DnssecStatus.INSECURE);
        }

        public Routes {
            hosts = List.copyOf(hosts);
            skipped = List.copyOf(skipped);
            warnings = List.copyOf(warnings);
        }

        public String kind() {
            return "routes";
        }

        public EnhancedStatus status() {
            return EnhancedStatus.OK;
        }

        public Optional<String> error() {
            return Optional.empty();
        }
    }

    /** RFC 7505: the domain says it accepts no mail (a single MX "0 ."). */
    record NullMx(MailDomain domain, List<String> warnings, DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public NullMx(MailDomain domain, List<String> warnings) {
            this(domain, warnings, DnssecStatus.INSECURE);
        }

        public NullMx {
            warnings = List.copyOf(warnings);
        }

        public List<SkippedHost> skipped() {
            return List.of();
        }

        public String kind() {
            return "null-mx";
        }

        public EnhancedStatus status() {
            return EnhancedStatus.NULL_MX;
        }

        public Optional<String> error() {
            return Optional.of(domain.ascii() + " publishes a null MX (RFC 7505): it accepts no mail");
        }
    }

    /** NXDOMAIN for the domain. */
    record NoSuchDomain(MailDomain domain, List<String> warnings, DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public NoSuchDomain(MailDomain domain, List<String> warnings) {
            this(domain, warnings, DnssecStatus.INSECURE);
        }

        public NoSuchDomain {
            warnings = List.copyOf(warnings);
        }

        public List<SkippedHost> skipped() {
            return List.of();
        }

        public String kind() {
            return "no-such-domain";
        }

        public EnhancedStatus status() {
            return EnhancedStatus.BAD_SYSTEM;
        }

        public Optional<String> error() {
            return Optional.of(domain.ascii() + " does not exist in DNS (NXDOMAIN)");
        }
    }

    /** No MX records and no A or AAAA records either. */
    record NotMailEnabled(MailDomain domain, List<String> warnings, DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public NotMailEnabled(MailDomain domain, List<String> warnings) {
            this(domain, warnings, DnssecStatus.INSECURE);
        }

        public NotMailEnabled {
            warnings = List.copyOf(warnings);
        }

        public List<SkippedHost> skipped() {
            return List.of();
        }

        public String kind() {
            return "not-mail-enabled";
        }

        public EnhancedStatus status() {
            return EnhancedStatus.BAD_SYSTEM;
        }

        public Optional<String> error() {
            return Optional.of(domain.ascii() + " has no MX records and no A or AAAA records, so it cannot receive mail");
        }
    }

    /** This host is the best mail exchanger for the domain, and no better one exists (RFC 5321 §5.1). */
    record LoopsToSelf(MailDomain domain, String localName, List<SkippedHost> skipped, List<String> warnings,
                       DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public LoopsToSelf(MailDomain domain, String localName, List<SkippedHost> skipped, List<String> warnings) {
            this(domain, localName, skipped, warnings, DnssecStatus.INSECURE);
        }

        public LoopsToSelf {
            skipped = List.copyOf(skipped);
            warnings = List.copyOf(warnings);
        }

        public String kind() {
            return "loops-to-self";
        }

        public EnhancedStatus status() {
            return EnhancedStatus.ROUTING_LOOP;
        }

        public Optional<String> error() {
            return Optional.of("mail for " + domain.ascii() + " loops back to myself: " + localName
                    + " is its best mail exchanger");
        }
    }

    /** DNS could not answer now, or no exchange had an address: defer, never bounce. */
    record TemporaryFailure(MailDomain domain, String reason, EnhancedStatus status, List<SkippedHost> skipped,
                            List<String> warnings, DnssecStatus dnssec) implements MxOutcome {
        /** Without DNSSEC validation. */
        public TemporaryFailure(MailDomain domain, String reason, EnhancedStatus status, List<SkippedHost> skipped,
                                List<String> warnings) {
            this(domain, reason, status, skipped, warnings, DnssecStatus.INSECURE);
        }

        public TemporaryFailure {
            skipped = List.copyOf(skipped);
            warnings = List.copyOf(warnings);
        }

        public String kind() {
            return "temporary-failure";
        }

        public Optional<String> error() {
            return Optional.of(reason);
        }
    }
}
