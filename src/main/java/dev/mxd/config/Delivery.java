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
 */
public record Delivery(int port, Duration connectTimeout, Duration greetingTimeout, Duration commandTimeout, int maxAddresses,
                       int concurrency, int concurrencyPerDestination, Retry retry, HostRetry hostRetry,
                       Duration scanInterval, java.util.Optional<String> doubleBounceRecipient,
                       java.util.Optional<String> maildirOwner, java.util.Optional<String> maildirGroup) {

    public static final Delivery DEFAULTS = new Delivery(25, Duration.ofSeconds(30), Duration.ofMinutes(5),
            Duration.ofMinutes(5), 5, 100, 20, Retry.DEFAULTS, HostRetry.DEFAULTS, Duration.ofSeconds(30),
            java.util.Optional.empty());

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
        positive("delivery.scan-interval", scanInterval);
        account("delivery.maildir-owner", maildirOwner);
        account("delivery.maildir-group", maildirGroup);
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
                             @JsonProperty("maildir-group") String maildirGroup) {
        Delivery d = DEFAULTS;
        return new Delivery(port != null ? port : d.port(), connectTimeout != null ? connectTimeout : d.connectTimeout(),
                greetingTimeout != null ? greetingTimeout : d.greetingTimeout(),
                commandTimeout != null ? commandTimeout : d.commandTimeout(),
                maxAddresses != null ? maxAddresses : d.maxAddresses(), concurrency != null ? concurrency : d.concurrency(),
                perDestination != null ? perDestination : d.concurrencyPerDestination(),
                retry != null ? retry : d.retry(), hostRetry != null ? hostRetry : d.hostRetry(),
                scanInterval != null ? scanInterval : d.scanInterval(),
                java.util.Optional.ofNullable(doubleBounceRecipient).map(Delivery::mailbox),
                java.util.Optional.ofNullable(maildirOwner).map(String::strip), java.util.Optional.ofNullable(maildirGroup).map(String::strip));
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
                throw new IllegalArgumentException("delivery.retry.max (" + max + ") is shorter than first (" + first + ")");
            }
            if (giveUp.isNegative()) {
                throw new IllegalArgumentException("delivery.retry.give-up must not be negative");
            }
        }

        @JsonCreator
        static Retry fromYaml(@JsonProperty("first") Duration first, @JsonProperty("max") Duration max,
                              @JsonProperty("give-up") Duration giveUp) {
            return new Retry(first != null ? first : DEFAULTS.first(), max != null ? max : DEFAULTS.max(),
                    giveUp != null ? giveUp : DEFAULTS.giveUp());
        }
    }

    /** {@code host-retry: {first, max}}. */
    public record HostRetry(Duration first, Duration max) {
        public static final HostRetry DEFAULTS = new HostRetry(Duration.ofSeconds(60), Duration.ofHours(1));

        public HostRetry {
            Durations.requirePositive("delivery.host-retry.first", first);
            if (max.compareTo(first) < 0) {
                throw new IllegalArgumentException("delivery.host-retry.max (" + max + ") is shorter than first (" + first + ")");
            }
        }

        @JsonCreator
        static HostRetry fromYaml(@JsonProperty("first") Duration first, @JsonProperty("max") Duration max) {
            return new HostRetry(first != null ? first : DEFAULTS.first(), max != null ? max : DEFAULTS.max());
        }
    }
}
