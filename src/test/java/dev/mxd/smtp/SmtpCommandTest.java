package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SmtpCommandTest {

    private static SmtpCommand parse(String line) {
        return SmtpCommand.parse(line.getBytes(StandardCharsets.UTF_8));
    }

    private static SmtpReply invalid(String line) {
        SmtpCommand c = parse(line);
        assertThat(c).as(line).isInstanceOf(SmtpCommand.Invalid.class);
        return ((SmtpCommand.Invalid) c).reply();
    }

    /** Found by SmtpCommandFuzzer: the client's text quoted in a 501 ended the reply line early. */
    @Test
    void controlCharactersQuotedInASyntaxReplyAreMadeVisible() {
        SmtpCommand c = SmtpCommand.parse("RCPT TO:  \n".getBytes(StandardCharsets.US_ASCII));
        assertThat(c).isInstanceOf(SmtpCommand.Invalid.class);
        SmtpReply r = ((SmtpCommand.Invalid) c).reply();
        assertThat(r.code()).isEqualTo(501);
        assertThat(r.lines()).allSatisfy(l -> assertThat(l).doesNotContain("\n", "\r"));
        SmtpCommand cr = SmtpCommand.parse("MAIL FROM:<a@b\r.test>".getBytes(StandardCharsets.US_ASCII));
        assertThat(cr).isInstanceOf(SmtpCommand.Invalid.class);
    }

    @Test
    void simpleCommandsCaseInsensitive() {
        assertThat(parse("ehlo client.example")).isEqualTo(new SmtpCommand.Ehlo("client.example"));
        assertThat(parse("HELO [192.0.2.1]")).isEqualTo(new SmtpCommand.Helo("[192.0.2.1]"));
        assertThat(parse("data")).isInstanceOf(SmtpCommand.Data.class);
        assertThat(parse("RSET")).isInstanceOf(SmtpCommand.Rset.class);
        assertThat(parse("NOOP anything")).isInstanceOf(SmtpCommand.Noop.class);
        assertThat(parse("QUIT")).isInstanceOf(SmtpCommand.Quit.class);
        assertThat(parse("StartTLS")).isInstanceOf(SmtpCommand.StartTls.class);
        assertThat(parse("VRFY alice")).isEqualTo(new SmtpCommand.Vrfy("alice"));
        assertThat(parse("HELP")).isEqualTo(new SmtpCommand.Help(""));
    }

    /** Issue 16 point 3: the EHLO name is echoed, logged and written into Received, so it is checked. */
    @Test
    void helloNamesAreDomainsOrAddressLiterals() {
        for (String ok : new String[] {"client.example", "CLIENT-1.Example", "localhost", "mail_gw.corp.example",
            "client.example.", "192.0.2.1", "[192.0.2.1]", "[IPv6:2001:db8::1]", "bücher.example", "x"}) {
            assertThat(parse("EHLO " + ok)).as(ok).isEqualTo(new SmtpCommand.Ehlo(ok));
            assertThat(parse("HELO  " + ok + " ")).as(ok).isEqualTo(new SmtpCommand.Helo(ok));
        }
        for (String bad : new String[] {"ev\0il\u001b[2J\u0007.test", "client.example\t", "\tclient.example", "a\u007fb",
            "a\u0085b.example", "a\u2028b.example", "two words", "-lead.example", "trail-.example", "a..b", ".example",
            "a.example..", "cli<nt>.example", "a@b.example", "[192.0.2.300]", "[IPv6:zz]", "[192.0.2.1", "[192.0.2.1]x",
            "a\\b", "\"quoted\"", "a/b", "x".repeat(64) + ".example", ("a".repeat(60) + ".").repeat(5) + "example"}) {
            SmtpReply r = invalid("EHLO " + bad);
            assertThat(r.summary()).as(bad).startsWith("501 5.5.4");
            assertThat(String.join("", r.lines())).as(bad).doesNotContainPattern("[\\x00-\\x1f\\x7f\\x80-\\x9f\\u2028\\u2029]");
            assertThat(invalid("HELO " + bad).code()).as(bad).isEqualTo(501);
        }
    }

    /** Without angle brackets, as printers and scripts send it: taken, as Postfix and Exim take it, parameters and all. */
    @Test
    void aPathWithoutAngleBracketsIsTaken() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:scanner@b.example");
        assertThat(m.sender()).map(Mailbox::toString).contains("scanner@b.example");
        SmtpCommand.Mail spaced = (SmtpCommand.Mail) parse("MAIL FROM: scanner@b.example SIZE=100 BODY=8BITMIME");
        assertThat(spaced.sender()).map(Mailbox::toString).contains("scanner@b.example");
        assertThat(spaced.parameters().size()).hasValue(100);
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:alice@b.example NOTIFY=NEVER");
        assertThat(r.recipient()).hasToString("alice@b.example");
        assertThat(invalid("MAIL FROM:a@b.example>").summary()).startsWith("501 5.5.4").contains("angle brackets");
        assertThat(invalid("MAIL FROM:").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:alice").summary()).startsWith("501 5.5.4").contains("angle brackets");
        assertThat(parse("RCPT TO:Postmaster NOTIFY=NEVER")).isInstanceOf(SmtpCommand.RcptPostmaster.class);
        assertThat(invalid("RCPT TO:postmasterx").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:alice@b.example,bob@b.example").code()).isEqualTo(501);
        assertThat(invalid("MAIL FROM:John Smith <a@b.example>").code()).isEqualTo(501);
    }

    /** "user@example.org." names the same domain (the root's dot): taken, the dot dropped, as Postfix drops it. */
    /**
     * A domain that has no A-label form names no domain: one written with a Unicode space next to a
     * real domain was looked up as that domain and filed in a Maildir of another name (U+3000 mapped
     * to an ASCII space), and one whose label was too long once encoded made the lookup throw and
     * dropped the connection without a reply. An underscore is taken, as Postfix's smtpd takes it.
     */
    @Test
    void aPathsDomainMustHaveAnALabelFormAndMayHoldAnUnderscore() {
        for (String bad : new String[] {"alice@example.test\u3000", "alice@example.test\u00A0", "alice@\u1680example.test",
            "alice@ex\u2003ample.test", "u@" + "\u00e9".repeat(60) + ".test"}) {
            SmtpReply r = invalid("RCPT TO:<" + bad + "> ");
            assertThat(r.code()).as(bad).isEqualTo(501);
            assertThat(invalid("MAIL FROM:<" + bad + ">").code()).as(bad).isEqualTo(501);
        }
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<u@b\u00fccher.example>")).recipient().domainKey()).isEqualTo("xn--bcher-kva.example");
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:<bounce@mail_out.example.org>");
        assertThat(m.sender()).map(Mailbox::toString).contains("bounce@mail_out.example.org");
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@mail_in.example.org>")).recipient().domainKey()).isEqualTo("mail_in.example.org");
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@mail_\u00f6.example.org>")).recipient().domainKey()).startsWith("xn--mail_-");
        assertThat(parse("EHLO PC_M\u00fcller.example")).isInstanceOf(SmtpCommand.Ehlo.class);
    }

    @Test
    void aFinalDotInThePathsDomainIsDropped() {
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:<alice@b.example.> NOTIFY=NEVER");
        assertThat(r.recipient()).hasToString("alice@b.example");
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:a@b.example. SIZE=10");
        assertThat(m.sender()).map(Mailbox::toString).contains("a@b.example");
        assertThat(invalid("RCPT TO:<alice@b.example..>").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<alice@.>").code()).isEqualTo(501);
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<alice@b.example.x.>")).recipient()).hasToString("alice@b.example.x");
    }

    /**
     * RFC 6533 §3: ORCPT=utf-8; in its ASCII form (\\x{HEX}) or in UTF-8 names the same address as
     * Postfix's rfc822;j+C3+BCrgen, and is kept that way; '+', '=', controls and bad code points are 501.
     */
    @Test
    void anOrcptOfTypeUtf8IsTaken() {
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=utf-8;j\\x{FC}rgen@b.example")).parameters().orcpt())
                .contains("rfc822;j\u00fcrgen@b.example");
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=UTF-8;j\u00fcrgen@b.example")).parameters().orcpt())
                .contains("rfc822;j\u00fcrgen@b.example");
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{2B}b\\x{1F600}@b.example")).parameters().orcpt())
                .contains("rfc822;a+b\uD83D\uDE00@b.example");
        for (String bad : new String[] {"a\\x{0A}b@b.example", "a+2Bb@b.example", "a\\x{D800}@b.example", "a\\x{110000}@b.example",
            "a\\x{}@b.example", "a\\xFC@b.example", "a=b@b.example", "a\\x{FC@b.example"}) {
            assertThat(invalid("RCPT TO:<a@b.example> ORCPT=utf-8;" + bad).summary()).as(bad).startsWith("501 5.5.4");
        }
    }

    /** ETRN (RFC 1985 §5): a domain, @domain (the domain itself here) or #queue; the domain is checked as EHLO's. */
    @Test
    void etrnTakesOneDomainOrQueueName() {
        assertThat(parse("ETRN example.org")).isEqualTo(new SmtpCommand.Etrn("example.org"));
        assertThat(parse("etrn @example.org")).isEqualTo(new SmtpCommand.Etrn("example.org"));
        assertThat(parse("ETRN #q1")).isEqualTo(new SmtpCommand.Etrn("#q1"));
        assertThat(invalid("ETRN").summary()).startsWith("501 5.5.4");
        assertThat(invalid("ETRN @").code()).isEqualTo(501);
        assertThat(invalid("ETRN [127.0.0.1]").code()).isEqualTo(501);
        assertThat(invalid("ETRN a b").code()).isEqualTo(501);
        assertThat(invalid("ETRN bad..domain").code()).isEqualTo(501);
        assertThat(invalid("ETRN a\u0001b").code()).isEqualTo(501);
    }

    @Test
    void unknownAndMalformed() {
        // Known but not implemented here: 502 5.5.1 (RFC 5321 §4.2.4); unknown: 500 5.5.2.
        assertThat(invalid("EXPN list").code()).isEqualTo(502);
        assertThat(invalid("EXPN list").enhancedStatus()).map(Object::toString).contains("5.5.1");
        assertThat(invalid("AUTH PLAIN AGJvYgBzZWNyZXQ=").code()).isEqualTo(502);
        assertThat(invalid("FROB").code()).isEqualTo(500);
        assertThat(invalid("FROB").enhancedStatus()).map(Object::toString).contains("5.5.2");
        assertThat(parse("QUIT see you")).isInstanceOf(SmtpCommand.Quit.class);
        assertThat(invalid("EHLO").summary()).startsWith("501 5.5.4");
        assertThat(invalid("DATA now").code()).isEqualTo(501);
        assertThat(invalid("STARTTLS x").code()).isEqualTo(501);
        assertThat(invalid("MAIL TO:<a@b.example>").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<>").code()).isEqualTo(501);
        assertThat(SmtpCommand.parse(new byte[] {'V', 'R', 'F', 'Y', ' ', (byte) 0xff})).isInstanceOf(SmtpCommand.Invalid.class);
    }

    @Test
    void aSizeOfTwentyDigitsIsANumberPastEveryLimit() { // RFC 1870: size-value = 1*20DIGIT
        assertThat(((SmtpCommand.Mail) parse("MAIL FROM:<a@b.example> SIZE=99999999999999999999")).parameters().size())
                .hasValue(Long.MAX_VALUE);
        assertThat(((SmtpCommand.Mail) parse("MAIL FROM:<a@b.example> SIZE=1234567890123456789")).parameters().size())
                .hasValue(1234567890123456789L);
        assertThat(invalid("MAIL FROM:<a@b.example> SIZE=123456789012345678901").code()).isEqualTo(501);
    }

    @Test
    void mailWithNullSenderAndParameters() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:<> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ+2B314");
        assertThat(m.sender()).isEmpty();
        assertThat(m.parameters().size()).hasValue(12345);
        assertThat(m.parameters().body()).isEqualTo(MailParameters.Body.EIGHT_BIT_MIME);
        assertThat(m.parameters().ret()).contains(DsnReturn.HDRS);
        assertThat(m.parameters().envid()).contains("QQ+314");
        assertThat(m.parameters().smtputf8()).isFalse();
    }

    @Test
    void mailToleratesSpaceAfterColonAndSourceRoute() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM: <@relay1.example,@relay2.example:joe@example.org>");
        assertThat(m.sender()).contains(new Mailbox("joe", "example.org"));
    }

    @Test
    void badParameters() {
        assertThat(invalid("MAIL FROM:<a@b.example> SIZE=big").code()).isEqualTo(501);
        assertThat(invalid("MAIL FROM:<a@b.example> BODY=BINARYMIME").code()).isEqualTo(504);
        assertThat(invalid("MAIL FROM:<a@b.example> AUTH=<>").code()).isEqualTo(555);
        assertThat(invalid("MAIL FROM:<a@b.example> SIZE=1 SIZE=2").code()).isEqualTo(501);
        assertThat(invalid("MAIL FROM:<a@b.example> RET=ALL").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> NOTIFY=SOMETIMES").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=nosemicolon").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> FOO").code()).isEqualTo(555);
        // RFC 3461 §4.4 / §4.2: ENVID is printable US-ASCII, ORCPT's address has no control characters.
        assertThat(invalid("MAIL FROM:<a@b.example> ENVID=x+0D+0AAction:+20delivered").summary()).startsWith("501 5.5.4 ENVID");
        assertThat(invalid("MAIL FROM:<a@b.example> ENVID=x+7F").code()).isEqualTo(501);
        assertThat(invalid("MAIL FROM:<a@b.example> ENVID=x+C3+BC").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example+0AAction:+20delivered").summary())
                .startsWith("501 5.5.4 ORCPT").doesNotContain("\n");
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example+0D").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=rfc(822);a@b.example").code()).isEqualTo(501);
        // What Postfix and Exim take and pass on is taken too (a 501 bounced the message or recipient upstream): an ENVID
        // over RFC 3461's 100 characters (a sender's bound), up to 500 as xtext; an ORCPT with an empty address, as none
        assertThat(((SmtpCommand.Mail) parse("MAIL FROM:<a@b.example> ENVID=" + "E".repeat(150))).parameters().envid())
                .contains("E".repeat(150));
        assertThat(((SmtpCommand.Mail) parse("MAIL FROM:<a@b.example> ENVID=" + "a+2B".repeat(30))).parameters().envid())
                .contains("a+".repeat(30));
        assertThat(invalid("MAIL FROM:<a@b.example> ENVID=" + "E".repeat(501)).code()).isEqualTo(501);
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> NOTIFY=FAILURE ORCPT=rfc822;")).parameters().orcpt()).isEmpty();
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=@@@;").code()).isEqualTo(501);
        // 8-bit octets in an rfc822 ORCPT: UTF-8 (as Postfix sends an SMTPUTF8 message's) is that address; a lone Latin-1
        // octet names none, and went on as utf-8;j\x{FC}rgen in notices and relayed ORCPTs
        assertThat(invalid("RCPT TO:<a@b.example> ORCPT=rfc822;j+FCrgen@b.example").summary()).startsWith("501 5.5.4 ORCPT");
        assertThat(((SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=rfc822;j+C3+BCrgen@b.example")).parameters().orcpt())
                .contains("rfc822;j\u00fcrgen@b.example");
    }

    /**
     * xtext's octets are read as UTF-8 when they are (Postfix writes "j+C3+BCrgen" for jürgen), so the
     * address goes on to the next hop as the same octets; lower-case hex is taken, as Postfix takes it.
     */
    @Test
    void anOrcptInXtextIsDecodedAsUtf8AndLowerCaseHexIsTaken() {
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=rfc822;j+C3+BCrgen@b.example");
        assertThat(r.parameters().orcpt()).contains("rfc822;j\u00fcrgen@b.example");
        assertThat(Xtext.encode("j\u00fcrgen@b.example")).isEqualTo("j+C3+BCrgen@b.example");
        SmtpCommand.Rcpt lower = (SmtpCommand.Rcpt) parse("RCPT TO:<a@b.example> ORCPT=rfc822;a+2bb@b.example");
        assertThat(lower.parameters().orcpt()).contains("rfc822;a+b@b.example");
        assertThat(Xtext.decode("x+FF+FE")).as("not UTF-8: an octet a character").isEqualTo("x\u00ff\u00fe");
        assertThat(invalid("MAIL FROM:<a@b.example> ENVID=x+c3+bc").code()).as("ENVID stays printable ASCII").isEqualTo(501);
    }

    @Test
    void rcptWithDsnParameters() {
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:<Bob@Example.TEST> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@example.test");
        assertThat(r.recipient()).isEqualTo(new Mailbox("Bob", "Example.TEST"));
        assertThat(r.recipient().domainKey()).isEqualTo("example.test");
        assertThat(r.recipient().localKey()).isEqualTo("bob");
        assertThat(r.parameters().notifyOn()).isEqualTo(Set.of(DsnNotify.SUCCESS, DsnNotify.FAILURE));
        assertThat(r.parameters().orcpt()).contains("rfc822;bob+x@example.test");
    }

    @Test
    void postmasterWithoutDomainIsItsOwnCommand() {
        assertThat(parse("RCPT TO:<Postmaster>")).isEqualTo(new SmtpCommand.RcptPostmaster(RcptParameters.NONE));
        SmtpCommand.RcptPostmaster p = (SmtpCommand.RcptPostmaster) parse("rcpt to:<POSTMASTER> NOTIFY=NEVER");
        assertThat(p.parameters().notifyOn()).containsExactly(DsnNotify.NEVER);
        assertThat(parse("RCPT TO:<postmaster@Example.test>")).isInstanceOf(SmtpCommand.Rcpt.class);
        assertThat(parse("RCPT TO:<postmasterx>")).isInstanceOf(SmtpCommand.Invalid.class);
    }

    @Test
    void quotedLocalPartKeepsItsText() {
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:<\"john \\\"q\\\" doe\"@example.test>");
        assertThat(r.recipient().localPart()).isEqualTo("john \"q\" doe");
        assertThat(r.recipient().toString()).isEqualTo("\"john \\\"q\\\" doe\"@example.test");
        assertThat(new Mailbox("a.b", "x.test").toString()).isEqualTo("a.b@x.test");
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 §4.1.2): "" is a local part, as Postfix takes it (was 501)
        SmtpCommand.Mail empty = (SmtpCommand.Mail) parse("MAIL FROM:<\"\"@example.test>");
        assertThat(empty.sender()).map(Mailbox::localPart).contains("");
        assertThat(empty.sender()).map(Mailbox::toString).contains("\"\"@example.test");
        assertThat(Mailbox.parse(empty.sender().orElseThrow().toString())).isEqualTo(empty.sender().orElseThrow());
    }

    @Test
    void addressLiterals() {
        assertThat(Mailbox.parse("a@[192.0.2.1]").isAddressLiteral()).isTrue();
        assertThat(Mailbox.parse("a@[IPv6:2001:db8::1]").domain()).isEqualTo("[IPv6:2001:db8::1]");
        assertThatThrownBy(() -> Mailbox.parse("a@[999.1.1.1]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Mailbox.parse("a@[IPv6:zz]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Mailbox.parse("a@-bad.example")).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Local parts real senders use that are not RFC 5321 dot-strings (docomo's "john.", "a..b")
     * are taken, as Postfix takes them, and quoted when they go on; and no 64-octet limit (SRS and
     * VERP addresses are longer).
     */
    @Test
    void lenientLocalParts() {
        assertThat(Mailbox.parse("john.@docomo.ne.jp")).hasToString("\"john.\"@docomo.ne.jp");
        assertThat(Mailbox.parse("a..b@x.example")).hasToString("\"a..b\"@x.example");
        assertThat(Mailbox.parse("\"a..b\"@x.example")).isEqualTo(Mailbox.parse("a..b@x.example"));
        assertThat(Mailbox.parse(".lead@x.example").localPart()).isEqualTo(".lead");
        String srs = "SRS0=AbCd=7Q=example.org=very.long.firstname.lastname.department.of.something";
        assertThat(srs.length()).isGreaterThan(64);
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:<" + srs + "@forwarder.example>");
        assertThat(m.sender()).map(Mailbox::localPart).contains(srs);
        assertThatThrownBy(() -> Mailbox.parse(".@x.example")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Mailbox.parse("a b@x.example")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Mailbox.parse("@x.example")).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Each dotted-quad number is checked here (0-255), not by the JDK: {@code InetAddress.getByName("999.1.1.1")}
     * is a host-name lookup, a DNS query the client could make the event loop wait for.
     */
    @Test
    void anIpv4LiteralIsCheckedNumberByNumber() {
        assertThat(PathParser.ipv4("255.255.255.255")).isTrue();
        assertThat(PathParser.ipv4("0.0.0.0")).isTrue();
        assertThat(PathParser.ipv4("192.0.2.001")).as("Snum is 1*3DIGIT").isTrue();
        for (String bad : new String[] {"256.1.1.1", "1.2.3.999", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", "1.2.3.0004", "a.b.c.d", "1.2.3.4 "}) {
            assertThat(PathParser.ipv4(bad)).as(bad).isFalse();
        }
        assertThat(invalid("EHLO [999.0.0.1]").code()).isEqualTo(501);
        assertThat(invalid("RCPT TO:<a@[256.1.1.1]>").code()).isEqualTo(501);
        assertThat(Mailbox.parse("a@[IPv6:::ffff:192.0.2.1]").isAddressLiteral()).isTrue();
        assertThatThrownBy(() -> Mailbox.parse("a@[IPv6:::ffff:999.1.1.1]")).isInstanceOf(IllegalArgumentException.class);
        assertThat(invalid("EHLO [IPv6:.:1.2.3.4]").code()).as("a text the JDK would look up as a name").isEqualTo(501);
        assertThat(invalid("EHLO [IPv6:1.2.3.4]").code()).isEqualTo(501);
        assertThat(parse("EHLO [IPv6:2001:db8::192.0.2.1]")).isInstanceOf(SmtpCommand.Ehlo.class);
        assertThat(parse("EHLO [IPv6:2001:0db8:0:0:0:0:0:1]")).isInstanceOf(SmtpCommand.Ehlo.class);
    }

    /**
     * A general address literal is at most 255 octets, as any domain (RFC 5321 §4.5.3.1.2): the EHLO name goes into the
     * Received field's first line, which a 2,000-octet literal pushed past RFC 5322's 998.
     */
    @Test
    void anAddressLiteralIsAtMost255Octets() {
        String fits = "[x:" + "A".repeat(251) + "]";
        assertThat(fits).hasSize(255);
        assertThat(parse("EHLO " + fits)).isEqualTo(new SmtpCommand.Ehlo(fits));
        assertThat(invalid("EHLO [x:" + "A".repeat(252) + "]").code()).isEqualTo(501);
        assertThat(invalid("EHLO [x:" + "A".repeat(2000) + "]").lines().get(0)).contains("longer than 255 octets");
        assertThat(invalid("RCPT TO:<a@[x:" + "A".repeat(300) + "]>").code()).isEqualTo(501);
    }

    /**
     * An address goes whole into one header line (Return-Path, Delivered-To, Received's "for"): one longer than 900
     * octets as written is refused (501), since it would make a line over RFC 5322's 998. Long SRS-style local parts
     * (well past RFC 5321's 64) are taken.
     */
    @Test
    void anAddressIsAtMost900OctetsAsWritten() {
        String srs = "SRS0=HHH=TT=" + "d".repeat(200) + ".example=" + "u".repeat(64);
        assertThat(parse("RCPT TO:<" + srs + "@example.org>")).isInstanceOf(SmtpCommand.Rcpt.class);
        String at900 = "a".repeat(900 - "@example.org".length()) + "@example.org";
        assertThat(parse("RCPT TO:<" + at900 + ">")).isInstanceOf(SmtpCommand.Rcpt.class);
        assertThat(parse("MAIL FROM:<" + at900 + ">")).isInstanceOf(SmtpCommand.Mail.class);
        SmtpReply r = invalid("RCPT TO:<a" + at900 + ">");
        assertThat(r.summary()).startsWith("501 5.5.4").contains("901 octets");
        assertThat(invalid("MAIL FROM:<a" + at900 + ">").code()).isEqualTo(501);
        // in the A-label form, which Received's "for" writes: 31 labels "ä" are 900 octets in UTF-8 with the local part,
        // and longer as xn--4ca
        String domain = "\u00e4.".repeat(31) + "de";
        String local = "a".repeat(900 - 1 - domain.getBytes(StandardCharsets.UTF_8).length);
        assertThat(invalid("RCPT TO:<" + local + "@" + domain + ">").code()).isEqualTo(501);
        // as written: a quoted local part's escapes count
        assertThat(invalid("RCPT TO:<\"" + "\\\"".repeat(450) + "\"@example.org>").code()).isEqualTo(501);
    }

    /** Some clients end MAIL and RCPT with a space; Postfix and Exim take it, and so does mxd. */
    @Test
    void aTrailingSpaceAfterThePathIsNotAParameter() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:<a@b.example> ");
        assertThat(m.sender()).map(Object::toString).contains("a@b.example");
        assertThat(parse("MAIL FROM:<a@b.example> SIZE=100  ")).isInstanceOf(SmtpCommand.Mail.class);
        assertThat(parse("RCPT TO:<c@d.example>   ")).isInstanceOf(SmtpCommand.Rcpt.class);
        assertThat(parse("RCPT TO:<Postmaster> ")).isInstanceOf(SmtpCommand.RcptPostmaster.class);
        assertThat(parse("MAIL FROM:<> ")).isInstanceOf(SmtpCommand.Mail.class);
    }

    /** A reply line is at most 512 octets with its code and CRLF (RFC 5321 §4.5.3.1.5), even when it quotes the client. */
    @Test
    void aReplyQuotingALongArgumentStaysWithin512Octets() {
        SmtpReply unknown = invalid("RCPT TO:<a@b.example> X" + "y".repeat(1500));
        assertThat(unknown.code()).isEqualTo(555);
        assertThat(unknown.encode().length).isLessThanOrEqualTo(512);
        SmtpReply r = invalid("RCPT TO:<a@b.example> =" + "y".repeat(1500));
        assertThat(r.code()).isEqualTo(501);
        assertThat(r.encode().length).isLessThanOrEqualTo(512);
        assertThat(r.firstLine()).endsWith("...");
        // A reply is printable ASCII (RFC 5321 §4.2 textstring): a client's UTF-8 quoted back is '?', § is "section"
        SmtpReply wide = SmtpReply.of(550, EnhancedStatus.BAD_MAILBOX, "\u00fc\uD83D\uDE00\u0007".repeat(200) + " (RFC 3461 \u00a74.1)");
        assertThat(wide.encode().length).isLessThanOrEqualTo(512);
        assertThat(new String(wide.encode(), StandardCharsets.US_ASCII)).startsWith("550 5.1.1 ???????").endsWith("...\r\n");
        assertThat(new String(wide.encode(), StandardCharsets.ISO_8859_1)).matches("[\\x20-\\x7e]*\r\n");
        assertThat(SmtpReply.of(501, EnhancedStatus.BAD_MAILBOX, "NOTIFY=NEVER alone (RFC 3461 \u00a74.1)").firstLine())
                .isEqualTo("5.1.1 NOTIFY=NEVER alone (RFC 3461 section 4.1)");
        SmtpReply shortOne = SmtpReply.of(250, EnhancedStatus.OK, "fine");
        assertThat(shortOne.firstLine()).isEqualTo("2.0.0 fine");
    }

    @Test
    void utf8AddressNeedsSmtputf8() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) parse("MAIL FROM:<José@exämple.test> SMTPUTF8");
        assertThat(m.sender().orElseThrow().isUtf8()).isTrue();
        assertThat(m.sender().orElseThrow().domainKey()).isEqualTo("xn--exmple-cua.test");
        assertThat(invalid("MAIL FROM:<José@example.test>").summary()).startsWith("553 5.6.7");
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) parse("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>");
        assertThat(r.recipient().isUtf8()).isTrue();
    }

    @Test
    void xtextRoundTrip() {
        assertThat(Xtext.decode(Xtext.encode("a+b=c d"))).isEqualTo("a+b=c d");
        assertThat(Xtext.encode("j\u00f6rg\r\n")).isEqualTo("j+C3+B6rg+0D+0A"); // UTF-8 octets, never a raw line break
        assertThat(Xtext.encode("j\u00f6rg\r\n", true)).isEqualTo("j\u00f6rg+0D+0A"); // RFC 6533 reports keep UTF-8
        assertThatThrownBy(() -> Xtext.decode("a+2")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void replyWireForm() {
        assertThat(new String(Replies.unknownUser("x@y.test").encode(), StandardCharsets.US_ASCII))
                .isEqualTo("550 5.1.1 <x@y.test>: no such user here\r\n");
        assertThat(new String(Replies.help(true, false).encode(), StandardCharsets.US_ASCII))
                .isEqualTo("214-2.0.0 mxd: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS\r\n214 2.0.0 see RFC 5321\r\n");
        assertThat(new String(Replies.help(false, true).encode(), StandardCharsets.US_ASCII)).as("no certificate; ETRN offered")
                .startsWith("214-2.0.0 mxd: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP ETRN\r\n");
        assertThat(new String(Replies.greeting("mx.test").encode(), StandardCharsets.US_ASCII)).isEqualTo("220 mx.test ESMTP mxd\r\n");
        assertThat(Optional.of(Replies.STORAGE_FAILURE.summary())).contains("452 4.3.1 insufficient system storage, try again later");
    }
}
