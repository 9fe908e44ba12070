package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import dev.mxd.smtp.AddressText;

class MailDomainTest {

    @Test
    void lowercasesAndDropsTheTrailingDot() {
        assertThat(MailDomain.parse("Example.ORG.").ascii()).isEqualTo("example.org");
        assertThat(MailDomain.parse("Example.ORG.").given()).isEqualTo("Example.ORG.");
    }

    @Test
    void convertsUnicodeToALabels() {
        assertThat(MailDomain.parse("Bücher.example").ascii()).isEqualTo("xn--bcher-kva.example");
        assertThat(MailDomain.parse("例え.テスト").ascii()).isEqualTo("xn--r8jz45g.xn--zckzah");
    }

    /** UTS #46 takes the ideographic and full-width full stops as dots, the final one (the root's) too. */
    @Test
    void anyFullStopEndsTheNameAsAnAsciiDotDoes() {
        for (String stop : new String[] {".", "\u3002", "\uFF0E", "\uFF61"}) {
            assertThat(MailDomain.parse("例え.テスト" + stop).ascii()).as(stop).isEqualTo("xn--r8jz45g.xn--zckzah");
        }
        assertThatThrownBy(() -> MailDomain.parse("例え.テスト\u3002\u3002")).hasMessageContaining("empty label");
    }

    @Test
    void rejectsWhatIsNotADomainWithAReason() {
        assertThatThrownBy(() -> MailDomain.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> MailDomain.parse("a..b")).hasMessageContaining("empty label");
        assertThatThrownBy(() -> MailDomain.parse("[192.0.2.1]")).hasMessageContaining("address literal");
        assertThatThrownBy(() -> MailDomain.parse("-bad.example")).hasMessageContaining("invalid label");
        assertThatThrownBy(() -> MailDomain.parse("a".repeat(64) + ".example")).hasMessageContaining("label");
        assertThatThrownBy(() -> MailDomain.parse(("a".repeat(60) + ".").repeat(5) + "example"))
                .hasMessageContaining("253");
        assertThatThrownBy(() -> MailDomain.parse("spaces in.example")).hasMessageContaining("invalid label");
    }

    @Test
    void ipv6AddressesArePrintedInCanonicalForm() throws Exception {
        assertThat(AddressText.of(InetAddress.getByName("::1"))).isEqualTo("::1");
        assertThat(AddressText.of(InetAddress.getByName("2001:db8:0:0:1:0:0:1"))).isEqualTo("2001:db8::1:0:0:1");
        assertThat(AddressText.of(InetAddress.getByName("2001:db8::"))).isEqualTo("2001:db8::");
        assertThat(AddressText.of(InetAddress.getByName("::"))).isEqualTo("::");
        assertThat(AddressText.of(InetAddress.getByName("2001:db8:1:2:3:4:5:6"))).isEqualTo("2001:db8:1:2:3:4:5:6");
        assertThat(AddressText.of(InetAddress.getByName("fe80:0:0:1::"))).isEqualTo("fe80:0:0:1::");
        assertThat(AddressText.of(InetAddress.getByName("127.0.0.1"))).isEqualTo("127.0.0.1");
    }

    @Test
    void dnsServerAddressesParse() {
        assertThat(DnsSettings.parseServer("127.0.0.1").getPort()).isEqualTo(53);
        assertThat(DnsSettings.parseServer("127.0.0.1:5354").getPort()).isEqualTo(5354);
        assertThat(DnsSettings.parseServer("[::1]:5354").getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
        assertThat(DnsSettings.parseServer("::1").getPort()).isEqualTo(53);
        assertThatThrownBy(() -> DnsSettings.parseServer("127.0.0.1:99999")).hasMessageContaining("port");
        assertThatThrownBy(() -> DnsSettings.parseServer("[::1")).hasMessageContaining("]");
    }
}
