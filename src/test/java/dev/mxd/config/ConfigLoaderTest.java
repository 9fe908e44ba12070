package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    static final Path FILE = Path.of("mxd.yaml");

    static final String FULL = """
            hostname: mx1.example.test
            listen:
              smtp: ["127.0.0.1:2525", "[::1]:2525"]
              admin: "127.0.0.1:8025"
            data-dir: /var/lib/mxd
            dns:
              servers: ["127.0.0.1:5354", "127.0.0.2"]
              local-names: [mx1.example.test]
            trusted-networks: ["127.0.0.0/8", "::1/128"]
            domains:
              example.test:
                role: local
                mailboxes: [alice, bob]
                aliases: {postmaster: alice, team: [alice, bob]}
                catch-all: null
              Example.ORG:
                role: backup
            limits:
              max-message-size: 25MB
              max-recipients: 100
              max-connections: 500
              max-connections-per-ip: 20
            timeouts:
              command: 5m
              data: 10m
              greet-pause: 0s
            """;

    @Test
    void readsEveryDocumentedKey() throws Exception {
        MxdConfig c = ConfigLoader.parse(FULL, FILE);
        assertThat(c.hostname()).isEqualTo("mx1.example.test");
        assertThat(c.smtpListeners()).extracting(HostPort::toString).containsExactly("127.0.0.1:2525", "[::1]:2525");
        assertThat(c.adminListener()).map(HostPort::port).contains(8025);
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/mxd"));
        assertThat(c.dnsServers()).extracting(HostPort::port).containsExactly(5354, 53);
        assertThat(c.localNames()).containsExactly("mx1.example.test");
        assertThat(c.trustedNetworks()).hasSize(2);
        DomainConfig local = c.domain("EXAMPLE.test.").orElseThrow();
        assertThat(local.role()).isEqualTo(Role.LOCAL);
        assertThat(local.mailboxes()).containsExactlyInAnyOrder("alice", "bob");
        assertThat(local.aliases()).containsEntry("postmaster", List.of("alice")).containsEntry("team", List.of("alice", "bob"));
        assertThat(local.catchAll()).isEmpty();
        assertThat(c.domain("example.org").orElseThrow().role()).isEqualTo(Role.BACKUP);
        assertThat(c.limits().maxMessageSize().bytes()).isEqualTo(25L << 20);
        assertThat(c.limits().maxRecipients()).isEqualTo(100);
        assertThat(c.timeouts().command()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.timeouts().greetPause()).isZero();
        assertThat(c.timeouts().finalReply()).as("the default").isEqualTo(Duration.ofMinutes(9));
        assertThat(c.tls()).isEmpty();
    }

    @Test
    void absentKeysTakeDefaults() throws Exception {
        MxdConfig c = ConfigLoader.parse("hostname: mx.test\n", FILE);
        assertThat(c.smtpListeners()).extracting(HostPort::toString).containsExactly("127.0.0.1:2525");
        assertThat(c.trustedNetworks()).isEqualTo(MxdConfig.DEFAULT_TRUSTED);
        assertThat(c.limits()).isEqualTo(Limits.DEFAULTS);
        assertThat(c.timeouts()).isEqualTo(Timeouts.DEFAULTS);
    }

    @Test
    void durationsAndSizes() {
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Durations.parse("4h")).isEqualTo(Duration.ofHours(4));
        assertThat(Durations.parse("5d")).isEqualTo(Duration.ofDays(5));
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(DataSize.parse("25MB").bytes()).isEqualTo(26_214_400L);
        assertThat(DataSize.parse("512KB").bytes()).isEqualTo(524_288L);
        assertThat(DataSize.parse("1000").bytes()).isEqualTo(1000L);
    }

    @Test
    void cidrContains() throws Exception {
        Cidr c = Cidr.parse("10.1.0.0/16");
        assertThat(c.contains(java.net.InetAddress.getByName("10.1.200.3"))).isTrue();
        assertThat(c.contains(java.net.InetAddress.getByName("10.2.0.1"))).isFalse();
        assertThat(Cidr.parse("::1/128").contains(java.net.InetAddress.getByName("::1"))).isTrue();
        assertThat(Cidr.parse("0.0.0.0/0").contains(java.net.InetAddress.getByName("::1"))).isFalse();
    }

    /**
     * Postfix's mynetworks as it writes it: IPv6 bracketed, loopback's IPv4-mapped form [::ffff:127.0.0.0]/104. A mapped
     * network is the IPv4 network of its last 32 bits, as a mapped client is matched as IPv4; it was refused ("prefix
     * length from 0 to 32"), and ::ffff:127.0.0.1/32 was taken as 127.0.0.1/32.
     */
    @Test
    void cidrsAsPostfixWritesThem() throws Exception {
        assertThat(Cidr.parse("[::1]/128")).isEqualTo(Cidr.parse("::1/128"));
        assertThat(Cidr.parse("[::ffff:127.0.0.0]/104")).isEqualTo(Cidr.parse("127.0.0.0/8"));
        assertThat(Cidr.parse("::ffff:127.0.0.0/104").contains(java.net.InetAddress.getByName("127.9.9.9"))).isTrue();
        assertThat(Cidr.parse("::ffff:127.0.0.0/104").contains(java.net.InetAddress.getByName("128.0.0.1"))).isFalse();
        assertThat(Cidr.parse("::ffff:192.0.2.7")).isEqualTo(Cidr.parse("192.0.2.7/32"));
        assertThat(Cidr.parse("::ffff:0:0/96")).isEqualTo(Cidr.parse("0.0.0.0/0"));
        assertThatThrownBy(() -> Cidr.parse("::ffff:127.0.0.1/32")).hasMessageContaining("IPv4-mapped")
                .hasMessageContaining("prefix of 96 or more");
        assertThatThrownBy(() -> Cidr.parse("::ffff:127.0.0.0/129")).hasMessageContaining("from 0 to 128");
    }

    /** A trusted network of every address makes an open relay: said at start and by --check, as Postfix says nothing. */
    @Test
    void aTrustedNetworkOfEveryAddressIsWarnedOf() throws Exception {
        MxdConfig open = ConfigLoader.parse("trusted-networks: [\"127.0.0.0/8\", \"0.0.0.0/0\", \"::/0\"]\n", FILE);
        assertThat(open.warnings()).filteredOn(w -> w.contains("open relay")).hasSize(2)
                .anySatisfy(w -> assertThat(w).startsWith("trusted-networks: 0.0.0.0/0 is every IPv4 address"))
                .anySatisfy(w -> assertThat(w).startsWith("trusted-networks: ::/0 is every IPv6 address"));
        assertThat(ConfigLoader.parse("trusted-networks: [\"127.0.0.0/8\"]\n", FILE).warnings()).noneMatch(w -> w.contains("open relay"));
    }

    /** The error loading {@code yaml} as mxd.yaml gives; fails the test when it loads. */
    static ConfigException error(String yaml) {
        try {
            ConfigLoader.parse(yaml, FILE);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("expected a ConfigException for:\n" + yaml);
    }

    @Test
    void unknownKeyNamesFileLineAndKey() {
        ConfigException e = error("hostname: mx.test\nlimits:\n  max-recipents: 5\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).startsWith("mxd.yaml:3: ").contains("unknown key 'max-recipents'").contains("max-recipients");
    }

    @Test
    void bareLfIsNormalizeByDefaultAndRejectOrNormalizeWhenSet() throws Exception {
        assertThat(Limits.DEFAULTS.bareLf()).isEqualTo(dev.mxd.smtp.BareLf.NORMALIZE);
        assertThat(ConfigLoader.parse("limits:\n  bare-lf: reject\n", FILE).limits().bareLf()).isEqualTo(dev.mxd.smtp.BareLf.REJECT);
        ConfigException e = error("hostname: mx.test\nlimits:\n  bare-lf: strict\n");
        assertThat(e.getMessage()).startsWith("mxd.yaml:").contains("'strict' is not reject or normalize");
    }

    @Test
    void unknownTopLevelKey() {
        ConfigException e = error("hostname: mx.test\nrelay-everything: true\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("unknown key 'relay-everything'");
    }

    @Test
    void wrongTypeNamesTheKey() {
        ConfigException e = error("limits:\n  max-recipients: many\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("limits.max-recipients").contains("whole number");
    }

    @Test
    void listWhereMappingExpected() {
        ConfigException e = error("domains:\n  example.test: [alice]\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("domains.example.test");
    }

    @Test
    void badListenAddress() {
        ConfigException e = error("listen:\n  smtp: [\"127.0.0.1\"]\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("listen.smtp").contains("port is missing");
        assertThat(error("listen:\n  smtp: [\"mail.example:25\"]\n").getMessage()).contains("not an IP address");
        assertThat(error("listen:\n  smtp: [\"127.0.0.1:99999\"]\n").getMessage()).contains("0 to 65535");
        // an IPv6 address with its port but no brackets: how to write it, not an IPv4 example
        assertThat(error("listen:\n  smtp: [\"::1:41025\"]\n").getMessage()).contains("for example [::1]:41025");
        assertThat(error("listen:\n  smtp: [\"::1\"]\n").getMessage()).contains("for example [::1]:2525");
    }

    @Test
    void badCidr() {
        ConfigException e = error("hostname: mx.test\ntrusted-networks:\n  - 10.0.0.0/33\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("trusted-networks[0]").contains("prefix length");
    }

    /**
     * The JDK reads BSD's short IPv4 forms ("172.16" is 172.0.0.16): "172.16/12" trusted 172.0.0.0/12, public address
     * space, in silence, and "10/8" trusted 0.0.0.0/8. Refused, as is a network with bits set past its prefix (which
     * would have shown the slip), and a text that is no literal (300.1.1.1 was looked up in DNS).
     */
    @Test
    void shortOrSloppyNetworksAreRefusedNotReadAsOtherOnes() {
        for (String net : new String[] {"172.16/12", "10/8", "192.168.1/24", "10.1"}) {
            ConfigException e = error("hostname: mx.test\ntrusted-networks:\n  - \"" + net + "\"\n");
            assertThat(e.line()).as(net).isEqualTo(3);
            assertThat(e.getMessage()).as(net).contains("trusted-networks[0]").contains("all four numbers");
        }
        // bits past the prefix (as ip addr prints an address): taken as the network it lies in, with a warning to say so
        Cidr printed = Cidr.parse("172.16.5.0/12");
        assertThat(printed.contains(new java.net.InetSocketAddress("172.31.0.1", 1).getAddress())).isTrue();
        assertThat(printed.hostBitsWarning("trusted-networks")).hasValueSatisfying(w -> assertThat(w).contains("172.16.0.0/12"));
        assertThat(Cidr.parse("172.16.0.0/12").hostBitsWarning("trusted-networks")).isEmpty();
        assertThat(error("dns:\n  servers: [\"300.1.1.1\"]\n").getMessage()).contains("not an IPv4 address");
        assertThat(error("delivery:\n  relay-host: \"[10.1]\"\n").getMessage()).contains("10.1");
        assertThat(Cidr.parse("10.0.0.0/8").contains(new java.net.InetSocketAddress("10.200.3.4", 1).getAddress())).isTrue();
        assertThat(Cidr.parse("192.168.001.000/24").toString()).isEqualTo("192.168.1.0/24");
        assertThat(Cidr.parse("::1/128").toString()).isEqualTo("::1/128");
    }

    /** What an operator meets when a value is wrong in a way that used to pass the check and fail later, or never. */
    @Test
    void namesListenersAliasesAndTimeoutsThatCannotWorkAreRefusedAtTheirLine() throws Exception {
        // an empty hostname or data-dir quietly meant localhost, or a new empty spool beside the one in use
        ConfigException host = error("hostname:\ndomains:\n  a.test:\n    role: local\n    mailboxes: [x]\n");
        assertThat(host.line()).isEqualTo(1);
        assertThat(host.getMessage()).contains("hostname: no value").contains("localhost");
        assertThat(error("hostname: mx.test\ndata-dir: \"\"\n").getMessage()).contains("data-dir: no value");
        // every entry commented out let loopback relay ([] lets nobody); an empty log file logged to stdout, past fail2ban
        ConfigException trusted = error("hostname: mx.test\ntrusted-networks:\n#  - 10.0.0.0/8\n");
        assertThat(trusted.line()).isEqualTo(2);
        assertThat(trusted.getMessage()).contains("trusted-networks: no value").contains("[] is nobody");
        assertThat(error("hostname: mx.test\nlog:\n  file: \"\"\n").getMessage()).contains("log.file: no value");
        assertThat(error("hostname: mx.test\nlisten:\n  smtp:\n").getMessage()).contains("listen.smtp: no value");
        assertThat(error("hostname: mx.test\nadmin-token-file: ''\n").getMessage()).contains("admin-token-file: no value");
        assertThat(error("hostname: mx.test\nlog:\n  file: \" \"\n").getMessage()).contains("log.file: no value");
        // a section whose every key is commented out meant its defaults in silence as well
        assertThat(error("hostname: mx.test\nlisten:\n#  smtp: [\"0.0.0.0:25\"]\n").getMessage())
                .contains("listen: an empty section").contains("127.0.0.1:2525");
        assertThat(error("hostname: mx.test\nlog:\n#  file: /var/log/mxd.log\n").getMessage()).contains("log: an empty section");
        assertThat(ConfigLoader.parse("hostname: mx.test\ntrusted-networks: []\n", FILE).trustedNetworks()).isEmpty();
        // not a host name: the start failed with an exception (exit 1), or a domain never matched
        assertThat(error("hostname: \"mx 1.example.org\"\n").getMessage()).contains("hostname").contains("not a host or domain name");
        assertThat(error("hostname: mx.test\ndomains:\n  \"*.example.org\":\n    role: backup\n").getMessage())
                .contains("wildcards are not supported");
        // two listeners on one address and port: the second failed to bind at start, exit 75, restarted for ever
        assertThat(error("listen:\n  smtp: [\"127.0.0.1:2525\", \"127.0.0.1:2525\"]\n").getMessage())
                .contains("listen.smtp[1]").contains("same port");
        assertThat(error("listen:\n  smtp: [\"0.0.0.0:2525\", \"127.0.0.1:2525\"]\n").getMessage()).contains("wildcard");
        assertThat(error("listen:\n  smtp: [\"127.0.0.1:2525\"]\n  admin: \"127.0.0.1:2525\"\n").getMessage())
                .contains("listen.admin");
        // names are compared without case: the later alias replaced the earlier in silence
        assertThat(error("domains:\n  a.test:\n    role: local\n    mailboxes: [alice, bob]\n    aliases: {Team: [alice], team: [bob]}\n")
                .getMessage()).contains("alias 'team' is alias 'Team' again");
        // an empty list entry was a NullPointerException's text
        assertThat(error("domains:\n  a.test:\n    role: local\n    mailboxes: [alice]\n    aliases: {info: [alice, null]}\n")
                .getMessage()).contains("an empty entry in mailboxes:");
        assertThat(error("domains:\n  a.test:\n    role: local\n    mailboxes:\n      - alice\n      -\n").getMessage())
                .contains("an empty entry in mailboxes:");
        // timeouts name themselves, and have bounds (25 days overflowed int milliseconds; 5m of greet-pause loses senders)
        assertThat(error("timeouts:\n  data: 0s\n").getMessage()).contains("timeouts.data");
        assertThat(error("timeouts:\n  greet-pause: 5m\n").getMessage()).contains("timeouts.greet-pause is at most 1m");
        assertThat(error("timeouts:\n  final-reply: 10m\n").getMessage()).contains("timeouts.final-reply is at most 9m");
        assertThat(error("delivery:\n  connect-timeout: 30d\n").getMessage()).contains("delivery.connect-timeout is at most 1h");
    }

    @Test
    void badRole() {
        ConfigException e = error("domains:\n  example.test:\n    role: lcal\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("lcal").contains("local or backup");
    }

    @Test
    void missingRole() {
        assertThat(error("domains:\n  example.test:\n    mailboxes: [a]\n").getMessage()).contains("role");
    }

    @Test
    void aliasToUnknownMailbox() {
        ConfigException e = error("domains:\n  example.test:\n    role: local\n    mailboxes: [alice]\n    aliases: {team: [alice, carol]}\n");
        assertThat(e.line()).isGreaterThanOrEqualTo(2);
        assertThat(e.getMessage()).contains("carol").contains("not in this domain's mailboxes");
    }

    @Test
    void localDomainWithoutPostmasterGetsAPostmasterMailboxAndAWarningWithWhatToAdd() throws Exception {
        MxdConfig c = ConfigLoader.parse("domains:\n  example.test:\n    role: local\n    mailboxes: [bob, alice]\n", FILE);
        DomainConfig d = c.domains().get("example.test");
        assertThat(d.mailboxes()).containsExactlyInAnyOrder("alice", "bob", "postmaster");
        assertThat(d.postmasterWarning("example.test")).hasValueSatisfying(w -> assertThat(w).contains("example.test")
                .contains("RFC 5321 §4.5.1").contains("aliases: {postmaster: alice}"));
        MxdConfig written = ConfigLoader.parse("domains:\n  example.test:\n    role: local\n    mailboxes: [alice, postmaster]\n", FILE);
        assertThat(written.domains().get("example.test").postmasterWarning("example.test")).isEmpty();
    }

    @Test
    void postmasterMayBeAMailboxAnAliasOrTheCatchAll() throws Exception {
        MxdConfig c = ConfigLoader.parse("domains:\n  a.test:\n    role: local\n    mailboxes: [postmaster]\n"
                + "  b.test:\n    role: local\n    mailboxes: [bob]\n    catch-all: bob\n"
                + "  c.test:\n    role: backup\n    mailboxes: [carol]\n", FILE);
        assertThat(c.firstLocalDomain()).contains("a.test");
        assertThat(c.domains().keySet()).containsExactly("a.test", "b.test", "c.test"); // file order is kept
    }

    @Test
    void unsafeMailboxName() {
        assertThat(error("domains:\n  example.test:\n    role: local\n    mailboxes: [\"../etc\"]\n").getMessage())
                .contains("'../etc' is not allowed");
    }

    @Test
    void badDurationAndSize() {
        ConfigException d = error("timeouts:\n  command: 5 minutes\n");
        assertThat(d.line()).isEqualTo(2);
        assertThat(d.getMessage()).contains("timeouts.command").contains("like 500ms, 30s");
        ConfigException s = error("limits:\n  max-message-size: 25 parsecs\n");
        assertThat(s.line()).isEqualTo(2);
        assertThat(s.getMessage()).contains("like 25MB");
    }

    /** A Latin-1 accent in a comment: "cannot read the file: Input length = 1", with no line; now the line and what to do. */
    @Test
    void aFileThatIsNotUtf8IsNamedWithItsLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path f = dir.resolve("latin1.yaml");
        java.nio.file.Files.write(f, "hostname: mx.test\n# caf\u00e9\nlimits: {}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.load(f));
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("not UTF-8", "save the file as UTF-8");
    }

    /**
     * A limit out of range is reported at its own key's line (it was the line where the limits
     * mapping ended: the next section's key); log.level: off unquoted (a YAML false) is off.
     */
    @Test
    void aLimitOutOfRangeIsAtItsLineAndAnUnquotedOffIsOff() throws Exception {
        ConfigException e = error("hostname: mx.test\nlimits:\n  max-recipients: 5\n  max-line-length: 100\ntimeouts:\n  command: 5m\n");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).contains("limits.max-line-length must be at least 512");
        assertThat(ConfigLoader.parse("hostname: mx.test\nlog:\n  level: off\n", FILE).log().level()).isEqualTo(Logging.Level.OFF);
    }

    /** A fraction where a whole number belongs was cut to the number below it ("max-recipients: 100.5" meant 100). */
    @Test
    void aFractionWhereAWholeNumberBelongsIsRefused() {
        ConfigException e = error("hostname: mx.test\nlimits:\n  max-recipients: 100.5\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("limits.max-recipients", "not a whole number");
    }

    /**
     * A second YAML document ("---" and more keys, as snippets pasted together each bring their
     * own) was read past in silence: its domains, limits or TLS were never used.
     */
    @Test
    void aSecondDocumentIsRefused() {
        ConfigException e = error("hostname: mx.test\n---\ndomains:\n  b.test: {role: local}\n");
        assertThat(e.line()).isPositive();
        assertThat(e.getMessage()).contains("second YAML document", "remove the '---'");
        assertThat(error("---\n# managed by the deploy tool\n---\nhostname: mx.test\n").getMessage())
                .as("the keys in a second document after an empty first one").contains("second YAML document");
        org.assertj.core.api.Assertions.assertThatCode(() -> ConfigLoader.parse("---\nhostname: mx.test\n", FILE))
                .as("a document start marker at the top, as many YAML files have").doesNotThrowAnyException();
        org.assertj.core.api.Assertions.assertThatCode(() -> ConfigLoader.parse("---\nhostname: mx.test\n---\n# the end\n", FILE))
                .as("an empty document after it (a file that ends in ---)").doesNotThrowAnyException();
        org.assertj.core.api.Assertions.assertThatCode(() -> ConfigLoader.parse("hostname: mx.test\n...\n", FILE))
                .as("a document end marker").doesNotThrowAnyException();
    }

    /**
     * tls: (or filters:) left with every key under it commented out was read as no section at all:
     * STARTTLS (or filtering) off, logged only as "tls off" at INFO, and senders that insist on TLS
     * (DANE, MTA-STS enforce) deferring their mail.
     */
    @Test
    void anEmptyTlsOrFiltersSectionIsRefused() {
        ConfigException tls = error("hostname: mx.test\ntls:\n  # certificate: /etc/mxd/cert.pem\n  # private-key: /etc/mxd/key.pem\n");
        assertThat(tls.line()).isEqualTo(2);
        assertThat(tls.getMessage()).contains("tls: an empty section", "STARTTLS", "remove the 'tls:' line");
        ConfigException filters = error("hostname: mx.test\nfilters: ~\n");
        assertThat(filters.line()).isEqualTo(2);
        assertThat(filters.getMessage()).contains("virus and spam filtering");
    }

    /**
     * max-message-size: 0 (sendmail's "no limit", a Postfix operator's guess) loaded, was advertised
     * as SIZE 0 (RFC 1870: no fixed maximum) and then refused every message with 552.
     */
    @Test
    void aZeroMessageSizeIsRefusedWithWhatToWrite() {
        ConfigException e = error("hostname: mx.test\nlimits:\n  max-message-size: 0\n");
        assertThat(e.getMessage()).contains("max-message-size must be more than 0", "like 100MB");
        assertThat(e.line()).isPositive();
    }

    @Test
    void yamlSyntaxError() {
        ConfigException e = error("hostname: mx.test\nlimits: [unclosed\n");
        assertThat(e.line()).isPositive();
        assertThat(e.getMessage()).startsWith("mxd.yaml:");
    }

    @Test
    void maildirOwnerAndGroup() throws Exception {
        MxdConfig c = ConfigLoader.parse("delivery:\n  maildir-owner: mail\n  maildir-group: mail\n", FILE);
        assertThat(c.delivery().maildirOwner()).contains("mail");
        assertThat(c.delivery().maildirGroup()).contains("mail");
        assertThat(ConfigLoader.parse("hostname: mx.test\n", FILE).delivery().maildirOwner()).isEmpty();
        ConfigException e = error("delivery:\n  maildir-owner: \"bad name\"\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("delivery.maildir-owner 'bad name' is not a user or group name");
    }

    @Test
    void missingFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(missing)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
    }

    @Test
    void missingTlsFile(@TempDir Path dir) throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
        ConfigException e = error("tls:\n  certificate: " + cert + "\n  private-key: " + dir.resolve("key.pem") + "\n");
        assertThat(e.getMessage()).contains("private-key").contains("does not exist");
    }

    @Test
    void emptyFile() {
        assertThat(error("").getMessage()).contains("empty");
    }
}
