package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration of one mxd instance, as read from its YAML file (docs/config.md).
 * Immutable; every default is applied here so nothing downstream checks for absent keys.
 *
 * @param hostname        this MX's name: greeting, Received headers, loop detection
 * @param smtpListeners   where the SMTP server listens
 * @param adminListener   where the admin API, metrics and status page listen (docs/operations.md); none when absent
 * @param dataDir         spool and mailboxes live under here
 * @param dnsServers      DNS servers to ask; empty means the system's resolver configuration
 * @param localNames      names that are this host (the hostname always counts)
 * @param trustedNetworks clients that may relay to any domain
 * @param domains         the domains mxd receives for, by lowercase A-label name
 * @param limits          per-connection and per-message bounds
 * @param timeouts        how long the server waits for clients
 * @param tls             the STARTTLS certificate, if STARTTLS is offered
 * @param delivery        onward delivery by MX: port, timeouts, concurrency, retries
 * @param filters         the scanning engines domains may use (issue 7); none configured by default
 * @param adminTokenFile  where the admin API's bearer token is kept; empty: {@code <data-dir>/admin.token}
 * @param log             log level and destination of {@code mxd serve}
 * @param clientNameLookup whether the SMTP server names clients by a forward-confirmed reverse lookup
 *                        ({@code dns.client-name-lookup}; Postfix's smtpd_peername_lookup), else {@code unknown}
 * @param dnssec          {@code dns.dnssec} and {@code dns.trust-anchors}: whether and from which anchors answers are validated
 * @param recipientDelimiter {@code recipient-delimiter}: the characters that end a local part's base before an
 *                        extension ({@code alice+news} is {@code alice}'s when no mailbox or alias is named
 *                        {@code alice+news}); empty: local parts are matched whole
 */
public record MxdConfig(String hostname, List<HostPort> smtpListeners, Optional<HostPort> adminListener, Path dataDir,
                        List<HostPort> dnsServers, List<String> localNames, List<Cidr> trustedNetworks,
                        Map<String, DomainConfig> domains, Limits limits, Timeouts timeouts, Optional<Tls> tls,
                        Delivery delivery, FiltersConfig filters, Optional<Path> adminTokenFile, Logging log,
                        boolean clientNameLookup, DnssecConfig dnssec, String recipientDelimiter) {

    public static final List<Cidr> DEFAULT_TRUSTED = List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("::1/128"));

    public MxdConfig {
        smtpListeners = List.copyOf(smtpListeners);
        if (smtpListeners.isEmpty()) {
            throw new IllegalArgumentException("listen.smtp is empty; give at least one HOST:PORT");
        }
        dnsServers = List.copyOf(dnsServers);
        localNames = List.copyOf(localNames);
        trustedNetworks = List.copyOf(trustedNetworks);
        domains = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(domains)); // file order: the first local domain matters
        checkDelimiter(recipientDelimiter);
        if (adminListener.isPresent() && !adminListener.get().address().isLoopbackAddress() && adminTokenFile.isEmpty()) {
            // A generated token is only as safe as the data directory; off the host, insist the operator chose one.
            throw new IllegalArgumentException("listen.admin " + adminListener.get() + " is not a loopback address; the admin API"
                    + " controls the queue, so set admin-token-file to a token file you created (mode 600), or listen on 127.0.0.1");
        }
    }


    /** Postfix's default is no delimiter; mxd's is {@code +}, as Dovecot's and OpenSMTPD's (docs/config.md). */
    public static final String DEFAULT_RECIPIENT_DELIMITER = "+";

    /** Delimiters are characters a dot-atom local part may hold, other than letters, digits and the dot. */
    private static final String DELIMITER_CHARACTERS = dev.mxd.smtp.Mailbox.ATEXT_SYMBOLS;

    private static void checkDelimiter(String delimiter) {
        for (int i = 0; i < delimiter.length(); i++) {
            if (DELIMITER_CHARACTERS.indexOf(delimiter.charAt(i)) < 0) {
                throw new ConfigProblem(List.of("recipient-delimiter"), "recipient-delimiter '" + delimiter + "' holds '" + delimiter.charAt(i)
                        + "'; give one or more of " + DELIMITER_CHARACTERS + " (such as \"+\" or \"+-\"), or \"\" to match local parts whole", null);
            }
        }
    }

    /** A configuration with the default recipient delimiter ({@code +}). */
    public MxdConfig(String hostname, List<HostPort> smtpListeners, Optional<HostPort> adminListener, Path dataDir,
                     List<HostPort> dnsServers, List<String> localNames, List<Cidr> trustedNetworks,
                     Map<String, DomainConfig> domains, Limits limits, Timeouts timeouts, Optional<Tls> tls,
                     Delivery delivery, FiltersConfig filters, Optional<Path> adminTokenFile, Logging log,
                     boolean clientNameLookup, DnssecConfig dnssec) {
        this(hostname, smtpListeners, adminListener, dataDir, dnsServers, localNames, trustedNetworks, domains, limits, timeouts,
                tls, delivery, filters, adminTokenFile, log, clientNameLookup, dnssec, DEFAULT_RECIPIENT_DELIMITER);
    }

    /** Where the admin API's token is: {@code admin-token-file}, or {@code <data-dir>/admin.token}. */
    public Path adminToken() {
        return adminTokenFile.orElse(dataDir.resolve("admin.token"));
    }

    /** A configuration with the default DNSSEC settings ({@code dns.dnssec: auto} from the root's anchors). */
    public MxdConfig(String hostname, List<HostPort> smtpListeners, Optional<HostPort> adminListener, Path dataDir,
                     List<HostPort> dnsServers, List<String> localNames, List<Cidr> trustedNetworks,
                     Map<String, DomainConfig> domains, Limits limits, Timeouts timeouts, Optional<Tls> tls,
                     Delivery delivery, FiltersConfig filters, Optional<Path> adminTokenFile, Logging log,
                     boolean clientNameLookup) {
        this(hostname, smtpListeners, adminListener, dataDir, dnsServers, localNames, trustedNetworks, domains, limits, timeouts,
                tls, delivery, filters, adminTokenFile, log, clientNameLookup, DnssecConfig.DEFAULTS);
    }

    /** A configuration that looks client names up (the default of {@code dns.client-name-lookup}). */
    public MxdConfig(String hostname, List<HostPort> smtpListeners, Optional<HostPort> adminListener, Path dataDir,
                     List<HostPort> dnsServers, List<String> localNames, List<Cidr> trustedNetworks,
                     Map<String, DomainConfig> domains, Limits limits, Timeouts timeouts, Optional<Tls> tls,
                     Delivery delivery, FiltersConfig filters, Optional<Path> adminTokenFile, Logging log) {
        this(hostname, smtpListeners, adminListener, dataDir, dnsServers, localNames, trustedNetworks, domains, limits, timeouts,
                tls, delivery, filters, adminTokenFile, log, true);
    }

    /** A configuration without filters, explicit admin token file or logging settings. */
    public MxdConfig(String hostname, List<HostPort> smtpListeners, Optional<HostPort> adminListener, Path dataDir,
                     List<HostPort> dnsServers, List<String> localNames, List<Cidr> trustedNetworks,
                     Map<String, DomainConfig> domains, Limits limits, Timeouts timeouts, Optional<Tls> tls, Delivery delivery) {
        this(hostname, smtpListeners, adminListener, dataDir, dnsServers, localNames, trustedNetworks, domains, limits, timeouts,
                tls, delivery, FiltersConfig.none(), Optional.empty(), Logging.DEFAULTS);
    }

    /** The first domain with role local, in file order: where {@code <Postmaster>} without a domain goes. */
    public Optional<String> firstLocalDomain() {
        return domains.entrySet().stream().filter(e -> e.getValue().role() == Role.LOCAL).map(Map.Entry::getKey).findFirst();
    }

    /** The domain's settings, by any spelling of its name. */
    public Optional<DomainConfig> domain(String name) {
        return Optional.ofNullable(domains.get(domainKey(name)));
    }

    /**
     * What the file leaves to the operator that a start logs and {@code mxd serve --check} prints: a local domain that
     * got a postmaster mailbox it was not written with, a trusted network written with bits set past its prefix, and
     * one that holds every address (0.0.0.0/0, ::/0): this host then relays from anyone to anywhere.
     */
    public List<String> warnings() {
        List<String> out = new java.util.ArrayList<>();
        domains.forEach((domain, d) -> d.postmasterWarning(domain).ifPresent(out::add));
        trustedNetworks.forEach(n -> n.hostBitsWarning("trusted-networks").ifPresent(out::add));
        trustedNetworks.stream().filter(n -> n.prefix() == 0).forEach(n -> out.add("trusted-networks: " + n + " is every "
                + (n.network() instanceof java.net.Inet4Address ? "IPv4" : "IPv6") + " address: any client may send mail"
                + " through this host to any domain (an open relay, soon on every blocklist); list your own networks"));
        return out;
    }

    /**
     * Two listeners that would take the same address and port: the second bind failed at start with "address already
     * in use", exit 75, read as another program holding the port and restarted for ever. The wildcard pair 0.0.0.0 and
     * [::] on one port is allowed (one dual-stack socket serves both).
     */
    static void checkListeners(List<HostPort> smtp, HostPort admin) {
        List<String> names = new java.util.ArrayList<>();
        List<HostPort> all = new java.util.ArrayList<>(smtp);
        for (int i = 0; i < smtp.size(); i++) {
            names.add("listen.smtp[" + i + "]");
        }
        if (admin != null) {
            all.add(admin);
            names.add("listen.admin");
        }
        for (int i = 0; i < all.size(); i++) {
            for (int j = i + 1; j < all.size(); j++) {
                HostPort a = all.get(i);
                HostPort b = all.get(j);
                if (a.port() != b.port() || a.port() == 0) {
                    continue;
                }
                boolean wildA = a.address().isAnyLocalAddress();
                boolean wildB = b.address().isAnyLocalAddress();
                boolean bothSmtp = j < smtp.size();
                if (a.address().equals(b.address()) || (wildA != wildB) || (wildA && !bothSmtp)) {
                    throw new IllegalArgumentException(names.get(j) + " " + b + " takes the same port as " + names.get(i) + " " + a
                            + (wildA || wildB ? " (a wildcard address takes every address of this host)" : "")
                            + ": the second would fail to listen; keep one, or use another port");
                }
            }
        }
    }

    private static final java.util.regex.Pattern LDH_LABEL = java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /**
     * {@code name} as a host or domain name key ({@link #domainKey}), checked: letters, digits and inner hyphens in
     * labels of at most 63, at most 253 in all. A name that is none ("mx 1.example.org", "*.example.org") passed the
     * check and failed mxd's start with an exception, or never matched a recipient.
     */
    static String hostName(String what, String name) {
        String key = domainKey(name);
        if (key.isEmpty() || key.length() > 253) {
            throw new IllegalArgumentException(what + ": '" + name + "' is not a host or domain name");
        }
        for (String label : key.split("\\.", -1)) {
            if (!LDH_LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException(what + ": '" + name + "' is not a host or domain name: its label '" + label
                        + "' is not letters, digits and inner hyphens" + (label.equals("*") ? " (wildcards are not supported: list each"
                        + " domain)" : ""));
            }
        }
        return key;
    }

    /** The key a domain is filed under: lowercase A-labels, no trailing dot. */
    public static String domainKey(String name) {
        String s = name.strip();
        if (s.endsWith(".")) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            return dev.mxd.smtp.Idna.toAscii(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + name + "' is not a valid domain name: " + e.getMessage());
        }
    }

    /** The listen key; admin may be absent (null only inside this file). */
    record Listen(List<HostPort> smtp, HostPort admin) {
        @JsonCreator
        static Listen fromYaml(@JsonProperty("smtp") List<HostPort> smtp, @JsonProperty("admin") HostPort admin) {
            return new Listen(smtp == null ? List.of(HostPort.parse("127.0.0.1:2525")) : smtp, admin);
        }
    }

    /** The dns key. */
    record Dns(List<HostPort> servers, List<String> localNames, boolean clientNameLookup, DnssecConfig dnssec) {
        @JsonCreator
        static Dns fromYaml(@JsonProperty("servers") List<String> servers, @JsonProperty("local-names") List<String> localNames,
                            @JsonProperty("client-name-lookup") Object clientNameLookup,
                            @JsonProperty("dnssec") Object dnssec, @JsonProperty("trust-anchors") List<String> trustAnchors) {
            return new Dns(servers == null ? List.of() : servers.stream().map(s -> HostPort.parse(s, 53)).toList(),
                    localNames == null ? List.of() : localNames.stream().map(MxdConfig::domainKey).toList(),
                    onOff(clientNameLookup, true), dnssec(dnssec, trustAnchors));
        }

        /** {@code dns.dnssec} (auto when absent) and the anchor files, read now so a bad one names its file and line. */
        private static DnssecConfig dnssec(Object mode, List<String> files) {
            DnssecMode m;
            try {
                if (Boolean.TRUE.equals(mode)) {
                    // YAML reads a bare on, true and yes alike: which one was written is not known here
                    throw new IllegalArgumentException("a yes, true or on value is not auto, validate or off: write validate to"
                            + " check DNSSEC always, or auto to check it when the DNS servers can");
                }
                m = mode == null ? DnssecMode.AUTO : DnssecMode.parse(String.valueOf(mode));
            } catch (IllegalArgumentException e) {
                throw new ConfigProblem(List.of("dns", "dnssec"), "dns.dnssec: " + e.getMessage(), null);
            }
            try {
                return DnssecConfig.of(m, files == null ? List.of() : files.stream().map(Path::of).toList());
            } catch (IllegalArgumentException e) {
                throw new ConfigProblem(List.of("dns", "trust-anchors"), "dns.trust-anchors: " + e.getMessage(), e);
            }
        }

        /** {@code on} or {@code off} (YAML's {@code true} and {@code false} too); absent: the default. */
        private static boolean onOff(Object value, boolean absent) {
            if (value == null) {
                return absent;
            }
            return switch (String.valueOf(value).toLowerCase(Locale.ROOT)) {
                case "on", "true" -> true;
                case "off", "false" -> false;
                default -> throw new ConfigProblem(List.of("dns", "client-name-lookup"),
                        "dns.client-name-lookup: '" + value + "' is not on or off", null);
            };
        }
    }

    @JsonCreator
    static MxdConfig fromYaml(@JsonProperty("hostname") String hostname,
                              @JsonProperty("listen") Listen listen,
                              @JsonProperty("data-dir") String dataDir,
                              @JsonProperty("dns") Dns dns,
                              @JsonProperty("trusted-networks") List<Cidr> trusted,
                              @JsonProperty("domains") Map<String, DomainConfig> domains,
                              @JsonProperty("limits") Limits limits,
                              @JsonProperty("timeouts") Timeouts timeouts,
                              @JsonProperty("tls") Tls tls,
                              @JsonProperty("delivery") Delivery delivery,
                              @JsonProperty("filters") FiltersConfig filters,
                              @JsonProperty("admin-token-file") String adminTokenFile,
                              @JsonProperty("log") Logging log,
                              @JsonProperty("recipient-delimiter") String recipientDelimiter) {
        String host = hostname == null ? "localhost" : hostName("hostname", hostname);
        Listen l = listen == null ? Listen.fromYaml(null, null) : listen;
        Dns d = dns == null ? Dns.fromYaml(null, null, null, null, null) : dns;
        Map<String, DomainConfig> byKey = new LinkedHashMap<>();
        if (domains != null) {
            for (Map.Entry<String, DomainConfig> e : domains.entrySet()) {
                if (e.getValue() == null) {
                    throw new ConfigProblem(List.of("domains", e.getKey()), "domain '" + e.getKey()
                            + "' has no settings; give at least role: local or role: backup", null);
                }
                if (byKey.put(hostName("domain '" + e.getKey() + "'", e.getKey()), e.getValue()) != null) {
                    throw new ConfigProblem(List.of("domains", e.getKey()), "domain '" + e.getKey() + "' is listed twice", null);
                }
                checkFilter(filters == null ? FiltersConfig.none() : filters, e.getKey(), e.getValue());
            }
        }
        checkListeners(l.smtp(), l.admin());
        checkRoutes(delivery == null ? Delivery.DEFAULTS : delivery, byKey);
        checkRelaysAreNotSelf(delivery == null ? Delivery.DEFAULTS : delivery, l.smtp());
        return new MxdConfig(host, l.smtp(), Optional.ofNullable(l.admin()),
                Path.of(dataDir == null ? "./mxd-data" : dataDir), d.servers(), d.localNames(),
                trusted == null ? DEFAULT_TRUSTED : trusted, byKey,
                limits == null ? Limits.DEFAULTS : limits, timeouts == null ? Timeouts.DEFAULTS : timeouts,
                Optional.ofNullable(tls), delivery == null ? Delivery.DEFAULTS : delivery,
                filters == null ? FiltersConfig.none() : filters,
                Optional.ofNullable(adminTokenFile).map(Path::of), log == null ? Logging.DEFAULTS : log, d.clientNameLookup(),
                d.dnssec(), recipientDelimiter == null ? DEFAULT_RECIPIENT_DELIMITER : recipientDelimiter);
    }

    /**
     * {@code delivery.routes} against {@code domains:}: {@code local} only for a domain configured here
     * (a backup domain then needs its mailboxes listed, to know whom to deliver to), and no relay route
     * for a local domain, whose mail is always delivered here. A reload checks the new domains against
     * the new routes, which it applies with them.
     *
     * @throws ConfigProblem naming the route at fault and what to do
     */
    public static void checkRoutes(Delivery delivery, Map<String, DomainConfig> domains) {
        for (Map.Entry<String, RouteOverride> e : delivery.routes().entrySet()) {
            List<String> where = List.of("delivery", "routes", e.getKey());
            DomainConfig d = domains.get(e.getKey());
            if (e.getValue() instanceof RouteOverride.Local) {
                if (d == null) {
                    throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": local, but " + e.getKey()
                            + " is not in domains:; add it there (role backup, with its mailboxes) or route it to a relay host", null);
                }
                if (d.role() == Role.BACKUP && d.mailboxes().isEmpty()) {
                    throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": local, but the backup domain " + e.getKey()
                            + " lists no mailboxes to deliver to; give it mailboxes: in domains:", null);
                }
                if (!d.mailboxes().contains(DomainConfig.POSTMASTER) && !d.aliases().containsKey(DomainConfig.POSTMASTER)
                        && d.catchAll().isEmpty()) {
                    throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": local, but " + e.getKey() + " has no mailbox,"
                            + " alias or catch-all for postmaster, which a domain delivered here must have (RFC 5321 §4.5.1)", null);
                }
            } else if (d != null && d.role() == Role.LOCAL) {
                throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": " + e.getKey() + " is a local domain, delivered"
                        + " here; to send its mail on, make it role backup", null);
            }
        }
    }

    /**
     * A relay host or route written as an IP address that is one of this node's own SMTP listeners
     * would send mail back into this node, round after round until its hop count runs out. Postfix
     * notices that only in the session ("mail for ... loops back to myself"); here it is refused when
     * the file is read. A name is checked when it is resolved, against this node's listeners on that port.
     */
    public static void checkRelaysAreNotSelf(Delivery delivery, List<HostPort> listeners) {
        Map<List<String>, RelayHost> relays = new LinkedHashMap<>();
        delivery.relayHost().ifPresent(r -> relays.put(List.of("delivery", "relay-host"), r));
        delivery.routes().forEach((domain, route) -> {
            if (route instanceof RouteOverride.Relay r) {
                relays.put(List.of("delivery", "routes", domain), r.relay());
            }
        });
        relays.forEach((where, relay) -> relay.literal().ifPresent(address -> {
            int port = relay.port().orElse(delivery.port());
            for (HostPort listener : listeners) {
                if (listener.port() == port && (listener.address().equals(address)
                        || listener.address().isAnyLocalAddress() && isThisHost(address))) {
                    throw new ConfigProblem(where, String.join(".", where) + ": [" + relay.host() + "]:" + port
                            + " is this node's own SMTP listener (listen.smtp " + listener + "); mail sent there would loop back"
                            + " here: name the next MX or relay host instead", null);
                }
            }
        }));
    }

    private static boolean isThisHost(java.net.InetAddress address) {
        try {
            return address.isLoopbackAddress() || java.net.NetworkInterface.getByInetAddress(address) != null;
        } catch (java.net.SocketException e) {
            return false;
        }
    }

    /** A domain's filter may only name engines the filters section configures. */
    private static void checkFilter(FiltersConfig filters, String name, DomainConfig domain) {
        if (domain.filter().isPresent()) {
            try {
                filters.check(domainKey(name), domain.filter().get());
            } catch (IllegalArgumentException e) {
                throw new ConfigProblem(List.of("domains", name, "filter", "engines"), e.getMessage(), e);
            }
        }
    }

    /** The admin listener of the embedded default (and of {@code mxd queue} without {@code --config}). */
    public static final HostPort DEFAULT_ADMIN = HostPort.parse("127.0.0.1:8025");

    /**
     * The embedded default: a laptop-ready local MX for {@code localhost} with a mailbox for {@code user},
     * with the admin listener on {@link #DEFAULT_ADMIN} so {@code mxd queue} works without options.
     */
    public static MxdConfig embeddedDefault(String user) {
        String box = user.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._+=-]", "_");
        DomainConfig localhost = new DomainConfig(Role.LOCAL, java.util.Set.of(box), Map.of("postmaster", List.of(box)), Optional.empty());
        return new MxdConfig("localhost", List.of(HostPort.parse("127.0.0.1:2525")), Optional.of(DEFAULT_ADMIN), Path.of("./mxd-data"),
                List.of(), List.of(), DEFAULT_TRUSTED, Map.of("localhost", localhost), Limits.DEFAULTS, Timeouts.DEFAULTS,
                Optional.empty(), Delivery.DEFAULTS);
    }
}
