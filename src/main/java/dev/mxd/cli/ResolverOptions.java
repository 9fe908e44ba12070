package dev.mxd.cli;

import dev.mxd.config.DnssecConfig;
import dev.mxd.config.DnssecMode;
import dev.mxd.dns.AddressOrder;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.MxPolicy;
import dev.mxd.dns.MxResolver;
import dev.mxd.tls.PolicyFetcher;
import dev.mxd.tls.WebPki;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Record;
import picocli.CommandLine.Option;

/** The DNS options every command that resolves MX shares. */
final class ResolverOptions {

    /**
     * The DOMAIN a user typed, as lookup and check take it: a mail address or an IP address is told apart from a
     * domain with what to give instead (the DNS would answer NXDOMAIN for either, a "permanent failure").
     */
    static dev.mxd.dns.MailDomain domainArgument(String typed) {
        String text = typed == null ? "" : typed.strip();
        int at = text.lastIndexOf('@');
        if (at >= 0) {
            throw new IllegalArgumentException("'" + typed + "' is a mail address, not a domain"
                    + (at < text.length() - 1 ? ": give its domain, " + text.substring(at + 1) : ""));
        }
        if (text.matches("[0-9]+(\\.[0-9]+)*\\.?")) {
            // RFC 1123 §2.1: a host name never looks like a dotted IP address (no top-level domain is all digits)
            throw new IllegalArgumentException("'" + typed + "' is an IP address, not a domain: mail is routed by a domain's MX records");
        }
        return dev.mxd.dns.MailDomain.parse(typed);
    }

    @Option(names = "--dns", paramLabel = "HOST[:PORT]",
            description = "DNS server to ask (repeatable); default: the system's resolver configuration.")
    List<String> servers = new ArrayList<>();

    @Option(names = "--local-name", paramLabel = "NAME",
            description = "A host name that is this MTA (repeatable): MX records from it on are not tried (RFC 5321 §5.1).")
    List<String> localNames = new ArrayList<>();

    @Option(names = "--strict", description = "Treat an MX that names an alias (CNAME) as unusable instead of following it.")
    boolean strict;

    @Option(names = "--address-order", paramLabel = "ORDER", defaultValue = "ipv6-first",
            description = "ipv6-first (default), ipv4-first, ipv4 or ipv6.")
    String addressOrder;

    @Option(names = "--dnssec", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (default: validate when the DNS servers serve the trust anchors' keys signed), validate or off;"
                    + " as dns.dnssec.")
    String dnssec;

    @Option(names = "--trust-anchor", paramLabel = "FILE",
            description = "DS or DNSKEY records in zone-file format to validate from (repeatable); replace the root's anchors.")
    List<Path> trustAnchors = new ArrayList<>();

    @Option(names = "--ca-file", paramLabel = "FILE",
            description = "PEM certificates trusted for MTA-STS (the policy fetch and the MX certificates) instead of the JDK's"
                    + " trust store; as delivery.tls.ca-file.")
    Path caFile;

    private DnsClient client;

    /** The DNS client of {@link #resolver()} (built with it). */
    DnsClient dnsClient() {
        if (client == null) {
            resolver();
        }
        return client;
    }

    /** How MTA-STS policies are fetched, trusting {@code --ca-file} or the JDK's trust store. */
    PolicyFetcher policyFetcher() {
        return new PolicyFetcher(dnsClient(), webPki(), 443, Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    /** The Web PKI of MTA-STS: {@code --ca-file}, or the JDK's trust store. */
    WebPki webPki() {
        if (caFile != null && !Files.isReadable(caFile)) {
            throw new IllegalArgumentException("--ca-file " + caFile + " does not exist or cannot be read");
        }
        try {
            return WebPki.of(Optional.ofNullable(caFile));
        } catch (IOException e) {
            throw new IllegalArgumentException("--ca-file: " + e.getMessage(), e);
        }
    }

    /** Builds a resolver; throws IllegalArgumentException with a sentence for a bad option value. */
    MxResolver resolver() {
        DnsSettings settings;
        if (servers.isEmpty()) {
            settings = DnsSettings.system();
        } else {
            List<InetSocketAddress> parsed = new ArrayList<>();
            for (String s : servers) {
                InetSocketAddress server;
                try {
                    server = DnsSettings.parseServer(s);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--dns " + e.getMessage(), e);
                }
                if (server.getPort() == 0) { // no server listens on port 0: every question would fail, a "temporary failure"
                    throw new IllegalArgumentException("--dns '" + s + "': port 0 is no server's; give the port it listens on (53 if left out)");
                }
                parsed.add(server);
            }
            settings = DnsSettings.of(parsed);
        }
        DnssecMode mode;
        try {
            mode = DnssecMode.parse(dnssec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--dnssec " + e.getMessage(), e);
        }
        List<Record> anchors = new ArrayList<>();
        for (Path file : trustAnchors) {
            try {
                anchors.addAll(DnssecConfig.readAnchors(file));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--trust-anchor: " + e.getMessage(), e);
            }
        }
        settings = settings.withDnssec(mode, anchors);
        MxPolicy policy = MxPolicy.defaults()
                .withLocalNames(localNames)
                .withStrictCnames(strict)
                .withAddressOrder(AddressOrder.parse(addressOrder));
        client = DnsClient.once(settings);
        return new MxResolver(client, policy);
    }
}
