package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The answers of the embedded server, in-process on a free loopback port, checked message by message. */
class DnsServerTest {

    static DnsServer server;
    static InetSocketAddress address;

    @BeforeAll
    static void start() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv(),
                ServedZone.load(ServedZoneTest.ZONES.resolve("relative.test.zone"))));
        server = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), DnsServer.Limits.defaults());
        address = server.address();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Message query(String name, int type) {
        return Message.newQuery(Record.newRecord(Name.fromConstantString(name), type, DClass.IN));
    }

    static Message ednsQuery(String name, int type, int payload) {
        Message q = query(name, type);
        q.addRecord(new OPTRecord(payload, 0, 0), Section.ADDITIONAL);
        return q;
    }

    static Set<String> section(Message m, int section) {
        return m.getSection(section).stream().filter(r -> r.getType() != Type.OPT)
                .map(r -> r.toString().replaceAll("\\s+", " ")).collect(Collectors.toSet());
    }

    @Test
    void mxAnswerIsAuthoritativeWithAddressesOfInZoneExchanges() throws Exception {
        Message a = WireClient.udp(address, query("srv.test.", Type.MX));
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(a.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(a.getHeader().getFlag(Flags.RA)).isFalse();
        assertThat(a.getSection(Section.ANSWER)).map(r -> ((MXRecord) r).getPriority() + " " + ((MXRecord) r).getTarget())
                .containsExactlyInAnyOrder("10 mx1.srv.test.", "20 mx2.srv.test.", "20 mx3.srv.test.", "30 backup.elsewhere.test.");
        assertThat(a.getSection(Section.AUTHORITY)).isEmpty();
        assertThat(section(a, Section.ADDITIONAL)).containsExactlyInAnyOrder(
                "mx1.srv.test. 300 IN A 127.0.0.11", "mx1.srv.test. 300 IN AAAA 0:0:0:0:0:0:0:1", "mx2.srv.test. 300 IN A 127.0.0.12",
                "mx3.srv.test. 600 IN A 127.0.0.13", "mx3.srv.test. 300 IN AAAA fd00:0:0:0:0:0:0:13");
    }

    @Test
    void rdIsCopiedAndRaNeverSet() throws Exception {
        Message q = query("srv.test.", Type.A);
        q.getHeader().setFlag(Flags.RD);
        Message a = WireClient.udp(address, q);
        assertThat(a.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(a.getHeader().getFlag(Flags.RA)).isFalse();
        assertThat(a.getHeader().getID()).isEqualTo(q.getHeader().getID());
        Message noRd = query("srv.test.", Type.A);
        noRd.getHeader().unsetFlag(Flags.RD);
        assertThat(WireClient.udp(address, noRd).getHeader().getFlag(Flags.RD)).isFalse();
    }

    @Test
    void cnameChainInsideTheZoneIsFollowed() throws Exception {
        Message a = WireClient.udp(address, query("www.srv.test.", Type.A));
        assertThat(section(a, Section.ANSWER)).containsExactlyInAnyOrder(
                "www.srv.test. 300 IN CNAME web.srv.test.", "web.srv.test. 300 IN CNAME host.srv.test.",
                "host.srv.test. 300 IN A 127.0.0.90");
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
    }

    @Test
    void cnameLeavingTheZoneIsAnsweredAlone() throws Exception {
        Message a = WireClient.udp(address, query("out.srv.test.", Type.MX));
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(section(a, Section.ANSWER)).containsExactly("out.srv.test. 300 IN CNAME mail.elsewhere.test.");
        assertThat(a.getSection(Section.AUTHORITY)).isEmpty();
    }

    @Test
    void cnameToAMissingNameIsNxdomainWithTheCname() throws Exception {
        Message a = WireClient.udp(address, query("dangling.srv.test.", Type.A));
        assertThat(a.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(section(a, Section.ANSWER)).containsExactly("dangling.srv.test. 300 IN CNAME nothing-here.srv.test.");
        assertThat(a.getSection(Section.AUTHORITY)).singleElement().isInstanceOf(SOARecord.class);
    }

    @Test
    void nxdomainCarriesSoaWithNegativeTtl() throws Exception {
        Message a = WireClient.udp(address, query("nothing.srv.test.", Type.A));
        assertThat(a.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        assertThat(section(a, Section.AUTHORITY)).containsExactly(
                "srv.test. 120 IN SOA ns1.srv.test. hostmaster.srv.test. 2026010101 3600 600 86400 120");
    }

    @Test
    void nodataCarriesSoa() throws Exception {
        Message a = WireClient.udp(address, query("mx1.srv.test.", Type.MX));
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        assertThat(a.getSection(Section.AUTHORITY)).singleElement()
                .satisfies(r -> assertThat(r.getTTL()).isEqualTo(120)).isInstanceOf(SOARecord.class);
    }

    @Test
    void nameOutsideEveryZoneIsRefusedWithoutAa() throws Exception {
        Message a = WireClient.udp(address, ednsQuery("example.org.", Type.A, 1232));
        assertThat(a.getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(a.getHeader().getFlag(Flags.AA)).isFalse();
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        assertThat(a.getOPT().getOptions(EDNSOption.Code.EDNS_EXTENDED_ERROR)).singleElement()
                .satisfies(o -> assertThat(((ExtendedErrorCodeOption) o).getErrorCode())
                        .isEqualTo(ExtendedErrorCodeOption.NOT_AUTHORITATIVE));
    }

    @Test
    void otherClassIsRefused() throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("srv.test."), Type.TXT, DClass.CH));
        assertThat(WireClient.udp(address, q).getRcode()).isEqualTo(Rcode.REFUSED);
    }

    @Test
    void apexNsSoaAndTxt() throws Exception {
        assertThat(section(WireClient.udp(address, query("srv.test.", Type.NS)), Section.ANSWER))
                .containsExactlyInAnyOrder("srv.test. 300 IN NS ns1.srv.test.", "srv.test. 300 IN NS ns2.elsewhere.test.");
        assertThat(section(WireClient.udp(address, query("srv.test.", Type.SOA)), Section.ANSWER)).containsExactly(
                "srv.test. 300 IN SOA ns1.srv.test. hostmaster.srv.test. 2026010101 3600 600 86400 120");
        assertThat(section(WireClient.udp(address, query("srv.test.", Type.TXT)), Section.ANSWER))
                .containsExactlyInAnyOrder("srv.test. 300 IN TXT \"v=spf1 mx -all\"", "srv.test. 300 IN TXT \"two\" \"strings\"");
    }

    @Test
    void wildcardAnswersWithTheQueryName() throws Exception {
        Message a = WireClient.udp(address, query("anything.wild.srv.test.", Type.MX));
        assertThat(section(a, Section.ANSWER)).containsExactly("anything.wild.srv.test. 300 IN MX 10 mx1.srv.test.");
        assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
    }

    @Test
    void delegationIsAReferralWithGlue() throws Exception {
        Message a = WireClient.udp(address, query("www.sub.srv.test.", Type.A));
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(a.getHeader().getFlag(Flags.AA)).isFalse();
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
        assertThat(section(a, Section.AUTHORITY)).containsExactlyInAnyOrder(
                "sub.srv.test. 300 IN NS ns.sub.srv.test.", "sub.srv.test. 300 IN NS ns.other.test.");
        assertThat(section(a, Section.ADDITIONAL)).containsExactly("ns.sub.srv.test. 300 IN A 127.0.0.54");
    }

    /**
     * RFC 9471 §3: a referral whose in-domain glue does not all fit a plain 512-octet UDP answer is
     * truncated (TC), so the resolver asks again over TCP and gets every glue record. Before, the
     * glue that did not fit was left out without TC, and a child with long server names could not
     * be reached.
     */
    @Test
    void aReferralWhoseGlueDoesNotFitIsTruncated(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        StringBuilder zone = new StringBuilder("$ORIGIN glue.test.\n$TTL 300\n@ SOA ns hostmaster ( 1 2 3 4 5 )\n@ NS ns\nns A 127.0.0.53\n");
        for (int i = 1; i <= 8; i++) {
            String ns = "name-server-number-" + i + ".child";
            zone.append("child NS ").append(ns).append('\n')
                    .append(ns).append(" A 127.0.1.").append(i).append('\n')
                    .append(ns).append(" AAAA fd00::").append(i).append('\n');
        }
        Path file = Files.writeString(dir.resolve("glue.test.zone"), zone.toString());
        try (DnsServer server = DnsServer.start(new Zones(List.of(ServedZone.load(file))), new InetSocketAddress("127.0.0.1", 0),
                DnsServer.Limits.defaults())) {
            Message udp = WireClient.udp(server.address(), query("www.child.glue.test.", Type.A));
            assertThat(udp.getHeader().getFlag(Flags.TC)).as("truncated over UDP").isTrue();
            Message tcp = WireClient.tcp(server.address(), query("www.child.glue.test.", Type.A));
            assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
            assertThat(tcp.getSection(Section.AUTHORITY)).hasSize(8);
            assertThat(tcp.getSection(Section.ADDITIONAL)).as("every glue record").hasSize(16);
        }
    }

    @Test
    void questionKeepsTheQueryCase() throws Exception {
        Message a = WireClient.udp(address, query("WwW.SrV.TeSt.", Type.A));
        assertThat(a.getQuestion().getName().toString()).isEqualTo("WwW.SrV.TeSt.");
        assertThat(a.getSection(Section.ANSWER)).hasSize(3);
        assertThat(a.getSection(Section.ANSWER).get(0).getName().toString()).isEqualTo("WwW.SrV.TeSt.");
    }

    @Test
    void ednsQueryGetsOurOptAndPlainQueryNone() throws Exception {
        Message q = ednsQuery("srv.test.", Type.SOA, 4096);
        Message a = WireClient.udp(address, q);
        OPTRecord opt = a.getOPT();
        assertThat(opt).isNotNull();
        assertThat(opt.getPayloadSize()).isEqualTo(1232);
        assertThat(opt.getVersion()).isZero();
        assertThat(WireClient.udp(address, query("srv.test.", Type.SOA)).getOPT()).isNull();
    }

    @Test
    void doBitIsCopied() throws Exception {
        Message q = query("srv.test.", Type.SOA);
        q.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        assertThat(WireClient.udp(address, q).getOPT().getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
    }

    @Test
    void ednsVersionAboveZeroIsBadvers() throws Exception {
        Message q = query("srv.test.", Type.SOA);
        q.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
        Message a = WireClient.udp(address, q);
        assertThat(a.getRcode()).isEqualTo(Rcode.BADVERS);
        assertThat(a.getOPT().getVersion()).isZero();
        assertThat(a.getHeader().getFlag(Flags.AA)).isFalse();
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
    }

    @Test
    void largeAnswerIsTruncatedOverUdpLikeKnot() throws Exception {
        for (Message q : List.of(query("big.srv.test.", Type.MX), ednsQuery("big.srv.test.", Type.MX, 1232),
                ednsQuery("big.srv.test.", Type.MX, 65_000), ednsQuery("big.srv.test.", Type.MX, 100))) {
            byte[] wire = WireClient.udp(address, q.toWire(), WireClient.TIMEOUT_MILLIS).orElseThrow();
            Message a = new Message(wire);
            assertThat(a.getHeader().getFlag(Flags.TC)).as("TC for %s", q.getOPT()).isTrue();
            assertThat(a.getHeader().getFlag(Flags.AA)).isTrue();
            assertThat(a.getSection(Section.ANSWER)).isEmpty();
            assertThat(a.getSection(Section.AUTHORITY)).isEmpty();
            assertThat(a.getQuestion().getName()).isEqualTo(Name.fromConstantString("big.srv.test."));
            assertThat(a.getOPT() != null).isEqualTo(q.getOPT() != null);
            assertThat(wire.length).isLessThanOrEqualTo(512);
        }
    }

    @Test
    void answerUpToTheClientBufferIsNotTruncated() throws Exception {
        // srv.test MX with its additional addresses is 234 octets with EDNS: fits 512 whole
        Message a = WireClient.udp(address, ednsQuery("srv.test.", Type.MX, 512));
        assertThat(a.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(a.getSection(Section.ADDITIONAL)).hasSize(6);
    }

    @Test
    void largeAnswerComesWholeOverTcpWithSeveralQueriesPerConnection() throws Exception {
        List<Message> answers = WireClient.tcp(address, List.of(query("big.srv.test.", Type.MX),
                ednsQuery("big.srv.test.", Type.MX, 1232), query("srv.test.", Type.SOA)));
        assertThat(answers).hasSize(3);
        for (Message a : answers.subList(0, 2)) {
            assertThat(a.getHeader().getFlag(Flags.TC)).isFalse();
            assertThat(a.getSection(Section.ANSWER)).hasSize(60);
        }
        assertThat(answers.get(1).getOPT()).isNotNull();
        assertThat(answers.get(2).getSection(Section.ANSWER)).singleElement().isInstanceOf(SOARecord.class);
    }

    @Test
    void otherOpcodeIsNotImplemented() throws Exception {
        for (int opcode : new int[] {Opcode.NOTIFY, Opcode.STATUS, Opcode.UPDATE}) {
            Message q = query("srv.test.", Type.SOA);
            q.getHeader().setOpcode(opcode);
            Message a = WireClient.udp(address, q);
            assertThat(a.getRcode()).isEqualTo(Rcode.NOTIMP);
            assertThat(a.getHeader().getOpcode()).isEqualTo(opcode);
            assertThat(a.getHeader().getFlag(Flags.AA)).isFalse();
        }
    }

    @Test
    void twoQuestionsAreFormerr() throws Exception {
        Message q = query("srv.test.", Type.SOA);
        q.addRecord(Record.newRecord(Name.fromConstantString("srv.test."), Type.MX, DClass.IN), Section.QUESTION);
        Message a = WireClient.udp(address, q);
        assertThat(a.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(a.getHeader().getID()).isEqualTo(q.getHeader().getID());
    }

    @Test
    void noQuestionIsFormerr() throws Exception {
        Message q = new Message();
        assertThat(WireClient.udp(address, q).getRcode()).isEqualTo(Rcode.FORMERR);
    }

    @Test
    void unparseableQueryWithAHeaderIsFormerr() throws Exception {
        byte[] wire = ByteBuffer.allocate(20).putShort((short) 0x1234).putShort((short) 0x0100)
                .putShort((short) 1).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                .put(new byte[] {60, 'x', 'y'}).array(); // a label claiming 60 octets, then the datagram ends
        byte[] reply = WireClient.udp(address, wire, WireClient.TIMEOUT_MILLIS).orElseThrow();
        Message a = new Message(reply);
        assertThat(a.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(a.getHeader().getID()).isEqualTo(0x1234);
        assertThat(a.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(a.getHeader().getFlag(Flags.RD)).isTrue();
    }

    @Test
    void fragmentShorterThanAHeaderAndResponsesAreDropped() throws Exception {
        assertThat(WireClient.udp(address, new byte[] {1, 2, 3, 4, 5}, 300)).isEmpty();
        Message response = query("srv.test.", Type.SOA);
        response.getHeader().setFlag(Flags.QR);
        assertThat(WireClient.udp(address, response.toWire(), 300)).isEmpty();
        // and the server still answers afterwards
        assertThat(WireClient.udp(address, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test
    void zoneWithRelativeNamesIsServedUnderItsFileName() throws Exception {
        Message a = WireClient.tcp(address, query("relative.test.", Type.MX));
        assertThat(section(a, Section.ANSWER)).containsExactly("relative.test. 3600 IN MX 5 mail.relative.test.");
        assertThat(section(a, Section.ADDITIONAL)).containsExactly("mail.relative.test. 3600 IN A 127.0.0.25");
    }

    @Test
    void udpAndTcpShareTheBoundPort() {
        assertThat(server.port()).isPositive();
        assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
    }

    @Test
    void connectionsBeyondTheLimitAreClosedUntilASlotIsFree() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        DnsServer.Limits limits = new DnsServer.Limits(4096, 1, Duration.ofSeconds(10));
        try (DnsServer small = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), limits)) {
            try (Socket first = new Socket()) {
                first.connect(small.address(), 2_000);
                first.setSoTimeout(2_000);
                assertThat(exchange(first, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
                try (Socket second = new Socket()) {
                    second.connect(small.address(), 2_000);
                    second.setSoTimeout(2_000);
                    assertThatThrownBy(() -> exchange(second, query("srv.test.", Type.SOA))).isInstanceOf(IOException.class);
                }
                // the first connection is still served
                assertThat(exchange(first, query("srv.test.", Type.NS)).getRcode()).isEqualTo(Rcode.NOERROR);
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                    assertThat(WireClient.tcp(small.address(), query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR));
        }
    }

    /**
     * One client network (an IPv4 /24, an IPv6 /56, as the rate limiter counts them) holds at most a quarter of the TCP
     * slots: 64 idle connections from one address shut every other client out of TCP, where the response-rate limiter
     * sends resolvers (TC).
     */
    @Test
    void oneClientCannotTakeEveryTcpSlot() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        try (DnsServer small = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), new DnsServer.Limits(4096, 8, Duration.ofSeconds(10)))) {
            List<Socket> hog = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    hog.add(from("127.0.0." + (1 + i % 4), small.address())); // four addresses of one /24: one network
                }
                try (Socket other = from("127.0.9.2", small.address())) {
                    assertThat(exchange(other, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
                }
                int open = 0;
                for (Socket s : hog) {
                    try {
                        exchange(s, query("srv.test.", Type.SOA));
                        open++;
                    } catch (IOException closed) {
                        // refused: over its address's share
                    }
                }
                assertThat(open).as("the network's connections still served").isEqualTo(2);
            } finally {
                for (Socket s : hog) {
                    s.close();
                }
            }
        }
    }

    /** Every slot taken by connections waiting for their next query: a newcomer takes the place of the one idle longest. */
    @Test
    void aNewcomerTakesTheSlotOfTheConnectionIdleLongest() throws Exception {
        withEverySlotTaken(s -> assertThat(exchange(s, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR), (server, idle) -> {
            try (Socket late = from("127.0.5.1", server.address())) {
                assertThat(exchange(late, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
            }
            assertThat(readToEnd(idle.get(0).getInputStream())).as("the longest idle closed").isEqualTo(-1);
            assertThat(exchange(idle.get(3), query("srv.test.", Type.NS)).getRcode()).as("the others kept").isEqualTo(Rcode.NOERROR);
        });
    }

    /** Connections that sent the first octet of a query and stalled (slowloris) are no busier than idle ones: a newcomer gets in. */
    @Test
    void halfSentQueriesDoNotHoldEverySlot() throws Exception {
        withEverySlotTaken(s -> {
            s.getOutputStream().write(0); // the first octet of a length prefix, and no more
            s.getOutputStream().flush();
        }, (server, stalled) -> {
            Thread.sleep(100);
            try (Socket late = from("127.0.5.1", server.address())) {
                assertThat(exchange(late, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
            }
        });
    }

    private interface Prepare {
        void on(Socket connection) throws Exception;
    }

    private interface WhileFull {
        void run(DnsServer server, List<Socket> held) throws Exception;
    }

    /** A server of four TCP slots, each taken by a connection from a network of its own made ready by {@code prepare}; then {@code test}. */
    private static void withEverySlotTaken(Prepare prepare, WhileFull test) throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        try (DnsServer small = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), new DnsServer.Limits(4096, 4, Duration.ofSeconds(10)))) {
            List<Socket> held = new java.util.ArrayList<>();
            try {
                for (int i = 1; i <= 4; i++) {
                    Socket s = from("127.0." + i + ".1", small.address());
                    held.add(s);
                    prepare.on(s);
                    Thread.sleep(20);
                }
                test.run(small, held);
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    private static Socket from(String local, InetSocketAddress server) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(local, 0));
        s.connect(server, 2_000);
        s.setSoTimeout(2_000);
        return s;
    }

    @Test
    void idleTcpConnectionIsClosed() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        DnsServer.Limits limits = new DnsServer.Limits(4096, 4, Duration.ofMillis(300));
        try (DnsServer small = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), limits);
             Socket connection = new Socket()) {
            connection.connect(small.address(), 2_000);
            connection.setSoTimeout(5_000);
            long start = System.nanoTime(); // before the query: the server's idle time starts after its answer
            assertThat(exchange(connection, query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(readToEnd(connection.getInputStream())).isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(4));
        }
    }

    /**
     * Clients that stop reading their answers (many queries for a large answer, never read) or send
     * a query a byte at a time do not hold the connection slots for ever (Knot's tcp-io-timeout): the
     * server's write or read of one message has a deadline, and a new client is served again.
     */
    @Test
    void slowReadersAndWritersLoseTheirConnectionAndFreeTheirSlot() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        DnsServer.Limits limits = new DnsServer.Limits(4096, 1, Duration.ofMillis(600));
        byte[] wire = query("big.srv.test.", Type.MX).toWire();
        try (DnsServer small = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), limits)) {
            try (Socket reader = new Socket()) {
                reader.setReceiveBufferSize(1024);
                reader.connect(small.address(), 2_000);
                Thread flood = new Thread(() -> {
                    try {
                        java.io.DataOutputStream out = new java.io.DataOutputStream(reader.getOutputStream());
                        for (int i = 0; i < 2_000; i++) {
                            out.writeShort(wire.length);
                            out.write(wire);
                        }
                        out.flush();
                    } catch (IOException closedByTheServer) {
                        // expected: the server gave up on this client
                    }
                });
                flood.setDaemon(true);
                flood.start();
                Awaitility.await().atMost(Duration.ofSeconds(5)).ignoreExceptions().untilAsserted(() ->
                        assertThat(WireClient.tcp(small.address(), query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR));
            }
            try (Socket writer = new Socket()) {
                writer.connect(small.address(), 2_000);
                writer.setSoTimeout(10_000);
                OutputStream out = writer.getOutputStream();
                out.write(new byte[] {0, (byte) wire.length});
                long start = System.nanoTime();
                try {
                    for (int i = 0; i < wire.length - 1; i++) { // a byte every 300 ms: never idle, never done
                        out.write(wire[i]);
                        out.flush();
                        Thread.sleep(300);
                    }
                } catch (IOException closedByTheServer) {
                    // expected
                }
                assertThat(readToEnd(writer.getInputStream())).isEqualTo(-1);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("cut off at the read deadline (the whole query would take 9 s)").isLessThan(Duration.ofSeconds(5));
            }
        }
    }

    /**
     * RFC 2181 §4.1: a UDP answer comes from the address the query was sent to. Behind a wildcard
     * listen, each of this host's addresses gets a socket of its own (a wildcard socket lets the
     * kernel choose the source, and a resolver that asked another address of the host drops the
     * answer); TCP stays on the wildcard address.
     */
    @Test
    void aWildcardListenAnswersUdpFromTheAddressAsked() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        try (DnsServer any = DnsServer.start(zones, new InetSocketAddress("0.0.0.0", 0), DnsServer.Limits.defaults());
             DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            assertThat(any.udpAddresses()).extracting(a -> a.getAddress().getHostAddress()).contains("127.0.0.1")
                    .allSatisfy(a -> assertThat(a).isNotEqualTo("0.0.0.0"));
            assertThat(any.udpAddresses()).allSatisfy(a -> assertThat(a.getPort()).isEqualTo(any.port()));
            byte[] wire = query("srv.test.", Type.SOA).toWire();
            client.setSoTimeout(3_000);
            client.send(new DatagramPacket(wire, wire.length, new InetSocketAddress("127.0.0.1", any.port())));
            DatagramPacket reply = new DatagramPacket(new byte[4096], 4096);
            client.receive(reply);
            assertThat(reply.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength())).getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(WireClient.tcp(new InetSocketAddress("127.0.0.1", any.port()), query("srv.test.", Type.SOA)).getRcode())
                    .isEqualTo(Rcode.NOERROR);
            // 0.0.0.0 is IPv4 alone, over TCP as over UDP: [::1] was answered over TCP and refused over UDP
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("::1", any.port()), 2_000);
                }
            }).isInstanceOf(java.net.ConnectException.class);
        }
    }

    /** One length-framed query and its answer on an open connection. */
    private static Message exchange(Socket s, Message q) throws IOException {
        java.io.DataOutputStream out = new java.io.DataOutputStream(s.getOutputStream());
        byte[] wire = q.toWire();
        out.writeShort(wire.length);
        out.write(wire);
        out.flush();
        java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
        byte[] answer = new byte[in.readUnsignedShort()];
        in.readFully(answer);
        return new Message(answer);
    }

    @Test
    void oversizedTcpFrameClosesTheConnection() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(address, 2_000);
            s.setSoTimeout(2_000);
            s.getOutputStream().write(new byte[] {(byte) 0xFF, (byte) 0xFF, 0, 0});
            s.getOutputStream().flush();
            assertThat(readToEnd(s.getInputStream())).isEqualTo(-1);
        }
    }

    @Test
    void closeReleasesThePort() throws Exception {
        Zones zones = new Zones(List.of(ServedZoneTest.srv()));
        DnsServer temporary = DnsServer.start(zones, new InetSocketAddress("127.0.0.1", 0), DnsServer.Limits.defaults());
        InetSocketAddress bound = temporary.address();
        temporary.close();
        temporary.close(); // idempotent
        try (DatagramSocket again = new DatagramSocket(bound)) {
            assertThat(again.getLocalPort()).isEqualTo(bound.getPort());
        }
        DnsServer onSamePort = DnsServer.start(zones, bound, DnsServer.Limits.defaults());
        onSamePort.close();
    }

    @Test
    void servesOnIpv6Loopback() throws Exception {
        InetSocketAddress v6 = new InetSocketAddress("::1", 0);
        try (DatagramSocket probe = new DatagramSocket(v6)) {
            // ::1 is usable on this machine
        } catch (IOException noIpv6) {
            Assumptions.abort("no IPv6 loopback here: " + noIpv6.getMessage());
        }
        try (DnsServer onV6 = DnsServer.start(new Zones(List.of(ServedZoneTest.srv())), v6, DnsServer.Limits.defaults())) {
            assertThat(onV6.address().getAddress().getHostAddress()).isIn("0:0:0:0:0:0:0:1", "::1");
            assertThat(WireClient.udp(onV6.address(), query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(WireClient.tcp(onV6.address(), query("srv.test.", Type.SOA)).getRcode()).isEqualTo(Rcode.NOERROR);
        }
    }

    @Test
    void portInUseIsAClearError() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Zones zones = new Zones(List.of(ServedZoneTest.srv()));
            InetSocketAddress busy = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(() -> DnsServer.start(zones, busy, DnsServer.Limits.defaults()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getLocalPort() + " (UDP)");
        }
    }

    /** Reads until end of stream; returns -1 at the end (what a server-closed connection gives). */
    private static int readToEnd(InputStream in) throws IOException {
        byte[] buf = new byte[512];
        try {
            for (int i = 0; i < 100; i++) {
                if (in.read(buf) < 0) {
                    return -1;
                }
            }
        } catch (java.net.SocketException reset) {
            return -1; // closed by the server with our data unread: a reset
        }
        return 0;
    }
}
