package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.mxd.smtp.Mailbox;
import java.time.Duration;

/**
 * Onward delivery by MX (the {@code delivery:} key; docs/config.md). Defaults follow Postfix:
 * smtp_connect_timeout 30s, smtp_helo_timeout 300s, smtp_mx_address_limit 5,
 * default_destination_concurrency_limit 20, minimal/maximal backoff 5m/1h (Postfix's maximal
 * is 4000s), maximal_queue_lifetime 5d.
 *
 * @param port                      the SMTP port of MX hosts (MX records carry none: 25)
 * @param connectTimeout            to open a TCP connection
 * @param greetingTimeout           for the server's 220 greeting (RFC 5321 §4.5.3.2: 5 minutes)
 * @param commandTimeout            for the reply to each command
 * @param maxAddresses              MX addresses tried in one attempt
 * @param concurrency               messages in delivery at once
 * @param concurrencyPerDestination deliveries to one domain at once
 * @param retry                     when deferred mail is retried, and when it is bounced
 * @param hostRetry                 how long a host that failed is passed over
 * @param scanInterval              how often the deferred queue is looked at for due mail
 * @param doubleBounceRecipient     where notices go that cannot go to a sender (Postfix's 2bounce_notice_recipient);
 *                                  empty: the postmaster (DomainPolicy.noticePostmaster), never nobody
 * @param maildirOwner              the user that delivered Maildir files and directories are given to (as Postfix's
 *                                  local delivers as the recipient); empty: the user mxd runs as. Needs root.
 * @param maildirGroup              the group they are given to; empty: the user's (or mxd's) group. Needs root.
 * @param sourceAddresses           the local addresses outbound connections come from (Postfix's smtp_bind_address and
 *                                  smtp_bind_address6): at most one IPv4 and one IPv6; empty: the system chooses
 * @param relayHost                 where all remote mail goes instead of the recipient domain's MX hosts (Postfix's relayhost)
 * @param routes                    per-destination next hops (Postfix's transport_maps), by {@code example.org} (that domain)
 *                                  or {@code .example.org} (its subdomains); they win over {@code relayHost}
 * @param tls                       {@code delivery.tls}: DANE, MTA-STS, their CA file and TLS-RPT reports
 */
public record Delivery(int port, Duration connectTimeout, Duration greetingTimeout, Duration commandTimeout, int maxAddresses,
                       int concurrency, int concurrencyPerDestination, Retry retry, HostRetry hostRetry,
                       Duration scanInterval, java.util.Optional<String> doubleBounceRecipient,
                       java.util.Optional<String> maildirOwner, java.util.Optional<String> maildirGroup,
                       java.util.List<java.net.InetAddress> sourceAddresses, java.util.Optional<RelayHost> relayHost,
                       java.util.Map<String, RouteOverride> routes, OutboundTls tls) {

    /** Delivery settings with the default TLS policies. */
    public Delivery(int port, Duration connectTimeout, Duration greetingTimeout, Duration commandTimeout, int maxAddresses,
                    int concurrency, int concurrencyPerDestination, Retry retry, HostRetry hostRetry,
                    Duration scanInterval, java.util.Optional<String> doubleBounceRecipient,
                    java.util.Optional<String> maildirOwner, java.util.Optional<String> maildirGroup,
                    java.util.List<java.net.InetAddress> sourceAddresses, java.util.Optional<RelayHost> relayHost,
                    java.util.Map<String, RouteOverride> routes) {
        this(port, connectTimeout, greetingTimeout, commandTimeout, maxAddresses, concurrency, concurrencyPerDestination, retry,
                hostRetry, scanInterval, doubleBounceRecipient, maildirOwner, maildirGroup, sourceAddresses, relayHost, routes,
                OutboundTls.DEFAULTS);
    }

    public static final Delivery DEFAULTS = new Delivery(25, Duration.ofSeconds(30), Duration.ofMinutes(5),
            Duration.ofMinutes(5), 5, 100, 20, Retry.DEFAULTS, HostRetry.DEFAULTS, Duration.ofSeconds(30),
            java.util.Optional.empty());

    /** Delivery settings that send by MX from whatever address the system chooses. */
    public Delivery(int port, Duration connectTimeout, Duration greetingTimeout, Duration commandTimeout, int maxAddresses,
                    int concurrency, int concurrencyPerDestination, Retry retry, HostRetry hostRetry,
                    Duration scanInterval, java.util.Optional<String> doubleBounceRecipient,
                    java.util.Optional<String> maildirOwner, java.util.Optional<String> maildirGroup) {
        this(port, connectTimeout, greetingTimeout, commandTimeout, maxAddresses, concurrency, concurrencyPerDestination, retry,
                hostRetry, scanInterval, doubleBounceRecipient, maildirOwner, maildirGroup, java.util.List.of(),
                java.util.Optional.empty(), java.util.Map.of());
    }

    /** Delivery settings whose Maildir files belong to the user mxd runs as. */
    public Delivery(int port, Duration connectTimeout, Duration greetingTimeout, Duration commandTimeout, int maxAddresses,
                    int concurrency, int concurrencyPerDestination, Retry retry, HostRetry hostRetry,
                    Duration scanInterval, java.util.Optional<String> doubleBounceRecipient) {
        this(port, connectTimeout, greetingTimeout, commandTimeout, maxAddresses, concurrency, concurrencyPerDestination, retry,
                hostRetry, scanInterval, doubleBounceRecipient, java.util.Optional.empty(), java.util.Optional.empty());
    }

    public Delivery {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("delivery.port " + port + " is not a TCP port (1 to 65535)");
        }
        if (maxAddresses < 1 || concurrency < 1 || concurrencyPerDestination < 1) {
            throw new IllegalArgumentException("delivery.max-addresses, concurrency and concurrency-per-destination must be at least 1");
        }
        positive("delivery.connect-timeout", connectTimeout);
        positive("delivery.greeting-timeout", greetingTimeout);
        positive("delivery.command-timeout", commandTimeout);
        // 25 days and more overflowed the sockets' int milliseconds, and every attempt then failed with an exception. A local,
        // not a constant: DEFAULTS is built while this class initialises, before a later constant would be set.
        Duration most = Duration.ofHours(1);
        Durations.requireAtMost("delivery.connect-timeout", connectTimeout, most, "a peer silent longer is gone");
        Durations.requireAtMost("delivery.greeting-timeout", greetingTimeout, most, "a peer silent longer is gone");
        Durations.requireAtMost("delivery.command-timeout", commandTimeout, most, "a peer silent longer is gone");
        positive("delivery.scan-interval", scanInterval);
        account("delivery.maildir-owner", maildirOwner);
        account("delivery.maildir-group", maildirGroup);
        sourceAddresses = java.util.List.copyOf(sourceAddresses);
        if (sourceAddresses.stream().filter(a -> a instanceof java.net.Inet4Address).count() > 1
                || sourceAddresses.stream().filter(a -> a instanceof java.net.Inet6Address).count() > 1) {
            throw new ConfigProblem(java.util.List.of("delivery", "source-address"), "delivery.source-address " + sourceAddresses.stream()
                    .map(java.net.InetAddress::getHostAddress).toList() + " has more than one address of a family; give at most one IPv4"
                    + " and one IPv6 address (a connection uses the one of its target's family)", null);
        }
        routes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(routes));
    }

    /** These settings with another relay host and routes: what a reload changes of {@code delivery:}. */
    public Delivery withRouting(java.util.Optional<RelayHost> relay, java.util.Map<String, RouteOverride> newRoutes) {
        return new Delivery(port, connectTimeout, greetingTimeout, commandTimeout, maxAddresses, concurrency, concurrencyPerDestination,
                retry, hostRetry, scanInterval, doubleBounceRecipient, maildirOwner, maildirGroup, sourceAddresses, relay, newRoutes, tls);
    }

    /**
     * The route override for mail to {@code domain} (a lowercase A-label name): its own entry in
     * {@code delivery.routes}, else the entry {@code .parent} of the nearest parent domain (as Postfix's
     * transport_maps: {@code example.org} matches that domain only, {@code .example.org} every domain below it).
     */
    public java.util.Optional<RouteOverride> routeFor(String domain) {
        RouteOverride exact = routes.get(domain);
        if (exact != null) {
            return java.util.Optional.of(exact);
        }
        for (int dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
            RouteOverride parent = routes.get(domain.substring(dot));
            if (parent != null) {
                return java.util.Optional.of(parent);
            }
        }
        return java.util.Optional.empty();
    }

    /** Where remote mail to {@code domain} goes: its route, else the relay host; empty: the domain's own MX hosts. */
    public java.util.Optional<RelayHost> nextHopFor(String domain) {
        java.util.Optional<RouteOverride> route = routeFor(domain);
        if (route.isPresent()) {
            return route.get() instanceof RouteOverride.Relay r ? java.util.Optional.of(r.relay()) : java.util.Optional.empty();
        }
        return relayHost;
    }

    /** A user or group name as useradd(8) allows them (or a numeric id); whether it exists is checked when mxd starts. */
    private static void account(String key, java.util.Optional<String> name) {
        if (name.isPresent() && !name.get().matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\\$?")) {
            throw new ConfigProblem(java.util.List.of(key.split("\\.")), key + " '" + name.get() + "' is not a user or group name", null);
        }
    }

    static void positive(String key, Duration d) {
        Durations.requirePositive(key, d);
    }

    @JsonCreator
    static Delivery fromYaml(@JsonProperty("port") Integer port,
                             @JsonProperty("connect-timeout") Duration connectTimeout,
                             @JsonProperty("greeting-timeout") Duration greetingTimeout,
                             @JsonProperty("command-timeout") Duration commandTimeout,
                             @JsonProperty("max-addresses") Integer maxAddresses,
                             @JsonProperty("concurrency") Integer concurrency,
                             @JsonProperty("concurrency-per-destination") Integer perDestination,
                             @JsonProperty("retry") Retry retry,
                             @JsonProperty("host-retry") HostRetry hostRetry,
                             @JsonProperty("scan-interval") Duration scanInterval,
                             @JsonProperty("double-bounce-recipient") String doubleBounceRecipient,
                             @JsonProperty("maildir-owner") String maildirOwner,
                             @JsonProperty("maildir-group") String maildirGroup,
                             @JsonProperty("source-address") java.util.List<String> sourceAddress,
                             @JsonProperty("relay-host") String relayHost,
                             @JsonProperty("routes") java.util.Map<String, String> routes,
                             @JsonProperty("tls") OutboundTls tls) {
        Delivery d = DEFAULTS;
        return new Delivery(port != null ? port : d.port(), connectTimeout != null ? connectTimeout : d.connectTimeout(),
                greetingTimeout != null ? greetingTimeout : d.greetingTimeout(),
                commandTimeout != null ? commandTimeout : d.commandTimeout(),
                maxAddresses != null ? maxAddresses : d.maxAddresses(), concurrency != null ? concurrency : d.concurrency(),
                perDestination != null ? perDestination : d.concurrencyPerDestination(),
                retry != null ? retry : d.retry(), hostRetry != null ? hostRetry : d.hostRetry(),
                scanInterval != null ? scanInterval : d.scanInterval(),
                java.util.Optional.ofNullable(doubleBounceRecipient).map(Delivery::mailbox),
                java.util.Optional.ofNullable(maildirOwner).map(String::strip), java.util.Optional.ofNullable(maildirGroup).map(String::strip),
                sourceAddresses(sourceAddress), relayHost(relayHost), routes(routes), tls != null ? tls : OutboundTls.DEFAULTS);
    }

    private static java.util.List<java.net.InetAddress> sourceAddresses(java.util.List<String> texts) {
        if (texts == null) {
            return java.util.List.of();
        }
        java.util.List<java.net.InetAddress> out = new java.util.ArrayList<>();
        for (String t : texts) {
            try {
                out.add(HostPort.ipLiteral(String.valueOf(t), String.valueOf(t).strip()));
            } catch (IllegalArgumentException e) {
                throw new ConfigProblem(java.util.List.of("delivery", "source-address"), "delivery.source-address: " + e.getMessage()
                        + "; write an IPv4 or IPv6 address of this host, or a list [IPV4, \"IPV6\"]", e);
            }
        }
        return out;
    }

    private static java.util.Optional<RelayHost> relayHost(String text) {
        if (text == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(RelayHost.parse(text));
        } catch (IllegalArgumentException e) {
            throw new ConfigProblem(java.util.List.of("delivery", "relay-host"), "delivery.relay-host " + e.getMessage()
                    + " ([host] or [host]:port: that host, no MX lookup; a domain or domain:port: its MX hosts)", e);
        }
    }

    /** {@code delivery.routes}: each key a domain or {@code .parent}, each value {@code local} or a relay host. */
    private static java.util.Map<String, RouteOverride> routes(java.util.Map<String, String> texts) {
        java.util.Map<String, RouteOverride> out = new java.util.LinkedHashMap<>();
        if (texts == null) {
            return out;
        }
        for (java.util.Map.Entry<String, String> e : texts.entrySet()) {
            java.util.List<String> where = java.util.List.of("delivery", "routes", e.getKey());
            String key = e.getKey().strip();
            boolean subdomains = key.startsWith(".");
            String name;
            try {
                name = MxdConfig.domainKey(subdomains ? key.substring(1) : key);
            } catch (IllegalArgumentException bad) {
                throw new ConfigProblem(where, "delivery.routes: " + bad.getMessage(), bad);
            }
            if (name.isEmpty() || name.startsWith(".") || name.contains("..") || name.contains("*")) {
                throw new ConfigProblem(where, "delivery.routes: '" + e.getKey() + "' is not a domain; write example.org for"
                        + " that domain or .example.org for every domain below it", null);
            }
            RouteOverride route;
            try {
                route = RouteOverride.parse(e.getValue());
            } catch (IllegalArgumentException bad) {
                throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": " + bad.getMessage()
                        + "; write local, [host]:port (no MX lookup) or a domain (MX lookup)", bad);
            }
            if (subdomains && route instanceof RouteOverride.Local) {
                throw new ConfigProblem(where, "delivery.routes." + e.getKey() + ": local is only for a domain listed in domains:,"
                        + " written without the leading dot", null);
            }
            if (out.put(subdomains ? "." + name : name, route) != null) {
                throw new ConfigProblem(where, "delivery.routes: '" + e.getKey() + "' is listed twice", null);
            }
        }
        return out;
    }

    /** A mailbox address, checked when the configuration is read rather than when the first bounce fails. */
    private static String mailbox(String address) {
        try {
            return Mailbox.parse(address.strip()).toString();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("delivery.double-bounce-recipient '" + address + "' is not a mail address: "
                    + e.getMessage());
        }
    }

    /** {@code retry: {first, max, give-up}}. */
    public record Retry(Duration first, Duration max, Duration giveUp) {
        public static final Retry DEFAULTS = new Retry(Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5));

        public Retry {
            Durations.requirePositive("delivery.retry.first", first); // not Delivery.positive: see Durations
            if (max.compareTo(first) < 0) {
                throw new IllegalArgumentException("delivery.retry.max (" + Durations.format(max) + ") is shorter than first ("
                        + Durations.format(first) + ")");
            }
            if (giveUp.isNegative()) {
                throw new IllegalArgumentException("delivery.retry.give-up must not be negative");
            }
        }

        @JsonCreator
        static Retry fromYaml(@JsonProperty("first") Duration first, @JsonProperty("max") Duration max,
                              @JsonProperty("give-up") Duration giveUp) {
            // One bound written alone moves the default of the other when it would cross it ({max: 1m} means first 1m too)
            return new Retry(first != null ? first : max != null ? shorter(DEFAULTS.first(), max) : DEFAULTS.first(),
                    max != null ? max : first != null ? longer(DEFAULTS.max(), first) : DEFAULTS.max(),
                    giveUp != null ? giveUp : DEFAULTS.giveUp());
        }
    }

    /** {@code host-retry: {first, max}}. */
    public record HostRetry(Duration first, Duration max) {
        public static final HostRetry DEFAULTS = new HostRetry(Duration.ofSeconds(60), Duration.ofHours(1));

        public HostRetry {
            Durations.requirePositive("delivery.host-retry.first", first);
            if (max.compareTo(first) < 0) {
                throw new IllegalArgumentException("delivery.host-retry.max (" + Durations.format(max) + ") is shorter than first ("
                        + Durations.format(first) + ")");
            }
        }

        @JsonCreator
        static HostRetry fromYaml(@JsonProperty("first") Duration first, @JsonProperty("max") Duration max) {
            return new HostRetry(first != null ? first : max != null ? shorter(DEFAULTS.first(), max) : DEFAULTS.first(),
                    max != null ? max : first != null ? longer(DEFAULTS.max(), first) : DEFAULTS.max());
        }
    }

    private static Duration shorter(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration longer(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
