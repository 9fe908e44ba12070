package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.dns.TlsaLookup;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What the command line answers for a fault of mxd's own, and for a host whose TLSA name cannot be written. */
class CliFaultTest {

    /**
     * A fault of mxd's own exits 70 (EX_SOFTWARE) from every command: picocli's default, 1, is "permanent failure" to
     * lookup and "problems found" to check, so a script took a crash for a bounce.
     */
    @Test
    void everyCommandExits70OnAFaultOfItsOwn() {
        CommandLine main = Main.commandLine();
        assertThat(main.getCommandSpec().exitCodeOnExecutionException()).isEqualTo(ExitCodes.SOFTWARE);
        assertThat(main.getSubcommands()).isNotEmpty();
        main.getSubcommands().forEach((name, sub) -> assertThat(sub.getCommandSpec().exitCodeOnExecutionException()).as(name)
                .isEqualTo(ExitCodes.SOFTWARE));
    }

    /**
     * A secure MX host of 247 or more octets has no TLSA name (_25._tcp. before it is over 255): lookup --json reports
     * it for that host, as delivery does; it ended the command as a usage error with no JSON.
     */
    @Test
    void aHostWithNoTlsaNameIsReportedForThatHost() {
        String host = String.join(".", "a".repeat(62), "b".repeat(62), "c".repeat(62), "d".repeat(58)); // 247 octets
        TlsaLookup lookup = new TlsaLookup(new DnsClient(DnsSettings.of(List.of(new InetSocketAddress("127.0.0.1", 9)))));
        DnsAnswer a = LookupCommand.tlsa(lookup, host);
        assertThat(a).isInstanceOf(DnsAnswer.Failed.class);
        assertThat(((DnsAnswer.Failed) a).reason()).contains("no TLSA name for " + host);
    }

    /** An address or an IP address where a domain belongs is a usage error that says what to give (DNS said NXDOMAIN). */
    @Test
    void anAddressOrAnIpAddressIsNoDomain() {
        for (String command : new String[] {"lookup", "check"}) {
            java.io.StringWriter err = new java.io.StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setErr(new java.io.PrintWriter(err, true));
            cl.setOut(new java.io.PrintWriter(new java.io.StringWriter(), true));
            assertThat(cl.execute(command, "user@example.com", "--dns", "127.0.0.1:9")).as(command).isEqualTo(ExitCodes.USAGE);
            assertThat(err.toString()).contains("is a mail address, not a domain: give its domain, example.com");
            err.getBuffer().setLength(0);
            assertThat(cl.execute(command, "192.0.2.1", "--dns", "127.0.0.1:9")).as(command).isEqualTo(ExitCodes.USAGE);
            assertThat(err.toString()).contains("'192.0.2.1' is an IP address, not a domain");
            err.getBuffer().setLength(0);
            assertThat(cl.execute(command, "example.com", "--dns", "127.0.0.1:0")).as(command).isEqualTo(ExitCodes.USAGE);
            assertThat(err.toString()).contains("port 0 is no server's");
        }
    }
}
