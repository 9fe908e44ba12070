package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

class ServedZoneTest {

    static final Path ZONES = Path.of("src/test/resources/zones/server");

    @TempDir
    Path tmp;

    static Name name(String s) {
        return Name.fromConstantString(s);
    }

    static ServedZone srv() throws ZoneFileException {
        return ServedZone.load(ZONES.resolve("srv.test.zone"));
    }

    @Test
    void originComesFromDollarOrigin() throws Exception {
        ServedZone z = srv();
        assertThat(z.origin()).isEqualTo(name("srv.test."));
        assertThat(z.recordCount()).isEqualTo(88);
    }

    @Test
    void originComesFromFileNameWhenNamesAreRelative() throws Exception {
        ServedZone z = ServedZone.load(ZONES.resolve("relative.test.zone"));
        assertThat(z.origin()).isEqualTo(name("relative.test."));
        assertThat(z.lookup(name("mail.relative.test."), Type.A)).isInstanceOf(ZoneLookup.Found.class);
    }

    /** The origin of a zone file named {@code fileName} holding {@code text}. */
    private Name originOf(String fileName, String text) throws Exception {
        return ServedZone.load(Files.writeString(tmp.resolve(fileName), text)).origin();
    }

    @Test
    void dbSuffixIsNotPartOfTheOrigin() throws Exception {
        assertThat(originOf("plain.example.db", "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.1\n"))
                .isEqualTo(name("plain.example."));
    }

    @Test
    void absoluteSoaOwnerWinsOverTheFileName() throws Exception {
        Path file = tmp.resolve("whatever.zone");
        Files.writeString(file, "$TTL 60\nreal.example. SOA ns1.real.example. admin.real.example. 1 2 3 4 5\n"
                + "real.example. NS ns1.real.example.\n");
        assertThat(ServedZone.load(file).origin()).isEqualTo(name("real.example."));
    }

    /**
     * A Windows editor's byte-order mark before the first name: read as part of it, the SOA owner was
     * "\239\187\191@.example.test.", that bogus zone was served and example.test answered REFUSED. Before a
     * $ORIGIN it made the line unreadable ("Invalid type"). The mark is dropped, in an included file too.
     */
    @Test
    void aByteOrderMarkBeforeTheFirstNameIsDropped() throws Exception {
        Path plain = tmp.resolve("bom.example.zone");
        Files.write(plain, bytes("\uFEFF@ 60 IN SOA ns1 admin 1 2 3 4 5\r\n@ NS ns1\r\n@ MX 10 mail\r\nmail A 192.0.2.1\r\nns1 A 192.0.2.2\r\n"));
        ServedZone z = ServedZone.load(plain);
        assertThat(z.origin()).isEqualTo(name("bom.example."));
        assertThat(z.lookup(name("bom.example."), Type.MX)).isInstanceOf(ZoneLookup.Found.class);

        Path withOrigin = tmp.resolve("other.zone");
        Files.write(withOrigin, bytes("\uFEFF$ORIGIN bom2.example.\n$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.2\n"
                + "$INCLUDE hosts.inc\n"));
        Files.write(tmp.resolve("hosts.inc"), bytes("\uFEFFmail A 192.0.2.1\n"));
        ServedZone z2 = ServedZone.load(withOrigin);
        assertThat(z2.origin()).isEqualTo(name("bom2.example."));
        assertThat(z2.lookup(name("mail.bom2.example."), Type.A)).isInstanceOf(ZoneLookup.Found.class);
        assertThat(z2.warnings()).isEmpty();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * "$ORIGIN example.test" without its final dot in example.test.zone is example.test.example.test. (as BIND reads
     * it): the file was served as that zone, with no word, and example.test answered REFUSED. named-checkzone refuses
     * such a file (the SOA is not at the zone's top); so does mxd dns, with the line and the fix.
     */
    @Test
    void aZoneNamedTwiceOverByAMissingFinalDotIsRefused() throws Exception {
        Path file = tmp.resolve("dot.example.zone");
        Files.writeString(file, "$ORIGIN dot.example\n$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.2\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOfSatisfying(ZoneFileException.class, e -> {
            assertThat(e.line()).isEqualTo(OptionalInt.of(3));
            assertThat(e.getMessage()).contains("dot.example.dot.example.").contains("end it with a dot");
        });
        // a zone that is not the file name's, and not that name twice, is served as its SOA says
        assertThat(originOf("example.zone", "$ORIGIN mail.example.\n$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.2\n"))
                .isEqualTo(name("mail.example."));
    }

    /**
     * UTF-8 text in a TXT record is served as the file's octets (RFC 1035 §5.1: a character string is octets), as
     * BIND and Knot serve it: dnsjava's parser read a char an octet and encoded the string as UTF-8 again, so "café"
     * went out as six octets of mojibake. Escaped octets and a backslash before a raw one are read as written.
     */
    @Test
    void utf8TextInATxtRecordIsServedAsTheFilesOctets() throws Exception {
        Path file = tmp.resolve("txt.example.zone");
        Files.write(file, bytes("$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.2\n"
                + "@ TXT \"caf\u00e9 \u2603\" ; a comment with \u00e9\nesc TXT \"a\\195\\169b\" \"x\\\u00e9\"\n"));
        ServedZone z = ServedZone.load(file);
        org.xbill.DNS.TXTRecord txt = (org.xbill.DNS.TXTRecord) ((ZoneLookup.Found) z.lookup(name("txt.example."), Type.TXT))
                .rrset().first();
        assertThat(txt.getStringsAsByteArrays()).singleElement().isEqualTo(bytes("caf\u00e9 \u2603"));
        org.xbill.DNS.TXTRecord esc = (org.xbill.DNS.TXTRecord) ((ZoneLookup.Found) z.lookup(name("esc.txt.example."), Type.TXT))
                .rrset().first();
        assertThat(esc.getStringsAsByteArrays()).containsExactly(bytes("a\u00e9b"), bytes("x\u00e9"));
    }

    /**
     * A record that ends before its last field is named by its own line: the parser finds the field missing once it
     * has counted the line's end, and named the next line (a valid record's, or one past the file's last).
     */
    @Test
    void aRecordMissingItsLastFieldIsNamedByItsOwnLine(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String head = "$ORIGIN t.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n";
        Object[][] cases = {
            {head + "x MX 10\nns A 127.0.0.1\n", 5, "expected a name"}, // a good record after it
            {head + "ns A 127.0.0.1\nx MX 10\n", 6, "expected a name"}, // the last line, with its line end
            {head + "ns A 127.0.0.1\nx MX 10", 6, "expected a name"}, // the last line, without one
            {head + "ns A\nx MX 10 ns\n", 5, "expected an address"},
            {head + "ns A 127.0.0.1\n@ MX mail.t.test.\n", 6, "expected an integer"}, // found on its own line, as before
            // inside "( … )" a line's end is no token: the bad value's own line, not the one before
            {"$ORIGIN t.test.\n$TTL 60\n@ SOA ns h (\n  1 2 3 4\n  x )\n@ NS ns\nns A 127.0.0.1\n", 5, "expected a TTL-like value"},
        };
        for (Object[] c : cases) {
            Path zone = java.nio.file.Files.writeString(dir.resolve("z.zone"), (String) c[0]);
            assertThatThrownBy(() -> ServedZone.load(zone)).as((String) c[0])
                    .isInstanceOfSatisfying(ZoneFileException.class, e -> assertThat(e.line()).isEqualTo(OptionalInt.of((Integer) c[1])))
                    .hasMessageEndingWith(" line " + c[1] + ": " + c[2]);
        }
    }

    @Test
    void parseErrorNamesFileLineAndReason() {
        Path bad = ZONES.resolve("bad.zone");
        assertThatThrownBy(() -> ServedZone.load(bad))
                .isInstanceOfSatisfying(ZoneFileException.class, e -> {
                    assertThat(e.file()).isEqualTo(bad);
                    assertThat(e.line()).isEqualTo(OptionalInt.of(7));
                    assertThat(e.reason()).contains("integer");
                })
                .hasMessage(bad + " line 7: expected an integer");
    }

    /**
     * A file that ends inside a "(" (cut off in the middle of a multi-line record, or a ")" missing) is refused with the
     * line of the "(", as Knot and named-checkzone refuse it; dnsjava ended the record at the end of the file without a
     * word, and a reload took the cut-off file. Parentheses in quoted strings and comments, and escaped ones, do not count.
     */
    @Test
    void aFileEndingInsideAParenthesisIsRefused() throws Exception {
        String head = "$ORIGIN cut.test.\n$TTL 60\n@ SOA ns admin ( 1 2 3\n 4 5 )\n@ NS ns\nns A 192.0.2.1\n";
        Path cut = tmp.resolve("cut.zone");
        Files.writeString(cut, head + "x TXT ( \"a\"\n  \"b\"\n");
        assertThatThrownBy(() -> ServedZone.load(cut)).isInstanceOfSatisfying(ZoneFileException.class, e -> {
            assertThat(e.line()).isEqualTo(OptionalInt.of(7));
            assertThat(e.reason()).contains("never closed");
        });
        Files.writeString(cut, head + "x TXT ( ( \"a\" )\n  \"b\"\n");
        assertThatThrownBy(() -> ServedZone.load(cut)).as("nested, the outer one never closed")
                .isInstanceOfSatisfying(ZoneFileException.class, e -> assertThat(e.line()).isEqualTo(OptionalInt.of(7)));
        Path fine = tmp.resolve("fine.zone");
        Files.writeString(fine, head + "y TXT \"a ( b\" ; and ( in a comment\nz TXT a\\(b\n");
        assertThat(ServedZone.load(fine).origin()).isEqualTo(name("cut.test."));
        Path included = tmp.resolve("part.zone");
        Files.writeString(included, "w TXT ( \"a\"\n");
        Path including = tmp.resolve("including.zone");
        Files.writeString(including, head + "$INCLUDE part.zone\n");
        assertThatThrownBy(() -> ServedZone.load(including)).isInstanceOfSatisfying(ZoneFileException.class, e -> {
            assertThat(e.getMessage()).contains("part.zone");
            assertThat(e.line()).isEqualTo(OptionalInt.of(1));
        });
    }

    @Test
    void zoneWithoutSoaIsRejected() {
        assertThatThrownBy(() -> ServedZone.load(ZONES.resolve("nosoa.zone")))
                .isInstanceOf(ZoneFileException.class)
                .hasMessageContaining("nosoa.zone")
                .hasMessageContaining("no SOA record");
    }

    @Test
    void recordOutsideTheOriginIsIgnoredWithAWarning() throws Exception {
        // As BIND and Knot: a zone exported from a provider with its glue loads; the stray record is not served.
        Path file = tmp.resolve("a.example.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\nstray.other.example. A 127.0.0.1\n");
        ServedZone z = ServedZone.load(file);
        assertThat(z.warnings()).singleElement().asString().contains("line 5").contains("stray.other.example. A is outside the zone a.example.");
        assertThat(z.recordCount()).as("SOA, NS, A: the stray record is not served").isEqualTo(3);
    }

    /**
     * RFC 1035 §5.1, as BIND reads it: a relative name after $ORIGIN is relative to the origin in force
     * (dnsjava took it from the root, so every record after it was outside the zone and the zone did not
     * load); errors after it still name the original file and line.
     */
    @Test
    void aRelativeOriginIsRelativeToTheOriginInForce() throws Exception {
        Path file = tmp.resolve("rel.test.zone");
        Files.writeString(file, "$TTL 60\n$ORIGIN rel.test.\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n"
                + "$ORIGIN mail\n@ A 127.0.0.25\nwww A 127.0.0.26\n$origin deeper ; a comment\nx A 127.0.0.27\n");
        ServedZone z = ServedZone.load(file);
        assertThat(z.warnings()).isEmpty();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("mail.rel.test."), org.xbill.DNS.Type.A)).isPresent();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("www.mail.rel.test."), org.xbill.DNS.Type.A)).isPresent();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("x.deeper.mail.rel.test."), org.xbill.DNS.Type.A)).isPresent();

        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n$ORIGIN mail\nbad A 999.1.1.1\n");
        assertThatThrownBy(() -> ServedZone.load(file)).hasMessageContaining(file.toString()).hasMessageContaining("line 6");
    }

    /**
     * An included file's names are read as BIND reads them: the origin a $INCLUDE line gives is relative to the origin
     * in force, a relative $ORIGIN inside the included file is relative to its origin, a quoted file name is a file
     * name, and $ORIGIN @ changes nothing. dnsjava took each of these from the root (or, quoted, as a directory): the
     * records fell outside the zone with a warning, and NXDOMAIN was served for names the file has.
     */
    @Test
    void includedFilesHaveTheirNamesWhereBindPutsThem() throws Exception {
        Path file = tmp.resolve("inc.test.zone");
        Files.writeString(tmp.resolve("hosts.inc"), "www A 192.0.2.1\n$ORIGIN sub\nhost A 192.0.2.2\n");
        Files.writeString(tmp.resolve("more hosts.inc"), "other A 192.0.2.3\n");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n"
                + "$INCLUDE hosts.inc mail ; the mail hosts\n"
                + "$INCLUDE \"more hosts.inc\"\n"
                + "$ORIGIN @\nafter A 192.0.2.4\n");
        ServedZone z = ServedZone.load(file);
        assertThat(z.warnings()).isEmpty();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("www.mail.inc.test."), org.xbill.DNS.Type.A)).isPresent();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("host.sub.mail.inc.test."), org.xbill.DNS.Type.A)).isPresent();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("other.inc.test."), org.xbill.DNS.Type.A)).isPresent();
        assertThat(z.rrset(org.xbill.DNS.Name.fromString("after.inc.test."), org.xbill.DNS.Type.A)).isPresent();
        // an error in an included file read through a copy names that file and its line
        Files.writeString(tmp.resolve("hosts.inc"), "www A 192.0.2.1\n$ORIGIN sub\nbad A 999.1.1.1\n");
        assertThatThrownBy(() -> ServedZone.load(file)).hasMessageContaining(tmp.resolve("hosts.inc").toString())
                .hasMessageContaining("line 3").hasMessageNotContaining("mxd-zone-");
    }

    /** An include loop is refused with the file and line that closes it; the parser nested until its stack overflowed. */
    @Test
    void anIncludeLoopIsRefusedWithItsLine() throws Exception {
        Path file = tmp.resolve("loop.test.zone");
        Files.writeString(tmp.resolve("a.inc"), "a A 192.0.2.1\n$INCLUDE b.inc\n");
        Files.writeString(tmp.resolve("b.inc"), "; b\nb A 192.0.2.2\n$INCLUDE a.inc sub\n");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n$INCLUDE a.inc\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOf(ZoneFileException.class)
                .hasMessageContaining(tmp.resolve("b.inc").toString()).hasMessageContaining("line 3").hasMessageContaining("include loop");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\n$INCLUDE loop.test.zone\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOf(ZoneFileException.class).hasMessageContaining("line 4")
                .hasMessageContaining("include loop");
    }

    /** A $INCLUDE of a file that is not there is refused with the file and line of the $INCLUDE (the parser named no line). */
    @Test
    void aMissingIncludedFileIsNamedWithTheIncludesLine() throws Exception {
        Path file = tmp.resolve("inc.test.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n$INCLUDE missing.inc\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOfSatisfying(ZoneFileException.class, e -> {
            assertThat(e.file()).isEqualTo(file);
            assertThat(e.line()).isEqualTo(OptionalInt.of(5));
        }).hasMessageContaining("$INCLUDE missing.inc: no such file (" + tmp.resolve("missing.inc"));
    }

    /** A DNAME is refused with its line and what to do, rather than loaded and not applied (NXDOMAIN below it). */
    @Test
    void aDnameIsRefusedRatherThanIgnored() throws Exception {
        Path file = tmp.resolve("c.example.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\nold DNAME new.c.example.\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOf(ZoneFileException.class)
                .hasMessageContaining("line 5").hasMessageContaining("DNAME").hasMessageContaining("CNAME");
    }

    /** Debian's BIND layout names zone files db.DOMAIN, its origin given by named.conf: the origin is DOMAIN. */
    @Test
    void aDebianStyleFileNameGivesTheOrigin() throws Exception {
        Path file = tmp.resolve("db.b.example");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.2\n@ MX 10 ns1\n");
        assertThat(ServedZone.load(file).origin()).hasToString("b.example.");
        assertThat(ServedZone.originFromFileName(tmp.resolve("db.example.com.zone"))).as("the .zone layout names its zone whole")
                .hasValueSatisfying(n -> assertThat(n).hasToString("db.example.com."));
    }

    @Test
    void missingFileIsAnError() {
        assertThatThrownBy(() -> ServedZone.load(tmp.resolve("nope.zone"))).hasMessageContaining("nope.zone: no such file");
    }

    @Test
    void emptyNonTerminalExistsWithoutData() throws Exception {
        assertThat(srv().lookup(name("b.ent.srv.test."), Type.A)).isInstanceOf(ZoneLookup.NoData.class);
        assertThat(srv().lookup(name("ent.srv.test."), Type.A)).isInstanceOf(ZoneLookup.NoData.class);
        assertThat(srv().lookup(name("c.ent.srv.test."), Type.A)).isInstanceOf(ZoneLookup.NxDomain.class);
    }

    @Test
    void wildcardSynthesisesTheQueryName() throws Exception {
        ZoneLookup found = srv().lookup(name("Deep.Below.wild.srv.test."), Type.A);
        assertThat(found).isInstanceOfSatisfying(ZoneLookup.Found.class, f -> {
            Record r = f.rrset().first();
            assertThat(r.getName().toString()).isEqualTo("Deep.Below.wild.srv.test.");
            assertThat(r.rdataToString()).isEqualTo("127.0.0.99");
        });
        assertThat(srv().lookup(name("x.wild.srv.test."), Type.TXT)).isInstanceOf(ZoneLookup.NoData.class);
    }

    /**
     * RFC 4592 §4.9: a wildcard that exists only as an empty non-terminal (a.*.w has data, *.w has
     * none) still matches, and gives NODATA, not NXDOMAIN; a CNAME written twice with the same
     * target is one record (RFC 2181 §5), not an error; an MX or NS whose target in the zone is an
     * alias or has no address is loaded with a warning naming its line, as BIND warns.
     */
    @Test
    void edgesOfWildcardsAliasesAndTargets() throws Exception {
        Path file = tmp.resolve("edge.test.zone");
        Files.writeString(file, String.join("\n", "$ORIGIN edge.test.", "$TTL 60", "@ SOA ns1 admin ( 1 2 3 4 5 )",
                "@ NS ns1", "ns1 A 127.0.0.1", "a.*.w A 192.0.2.1", "www CNAME ns1", "www CNAME ns1",
                "@ MX 10 www", "@ MX 20 mx9", "@ MX 30 ns1", "@ MX 40 mail.elsewhere.test.", "") + "\n");
        ServedZone zone = ServedZone.load(file);
        assertThat(zone.lookup(name("foo.w.edge.test."), Type.A)).isInstanceOf(ZoneLookup.NoData.class);
        assertThat(zone.lookup(name("x.y.w.edge.test."), Type.A)).as("below the wildcard's closest encloser too")
                .isInstanceOf(ZoneLookup.NoData.class);
        assertThat(zone.lookup(name("foo.edge.test."), Type.A)).isInstanceOf(ZoneLookup.NxDomain.class);
        assertThat(zone.lookup(name("www.edge.test."), Type.CNAME)).isInstanceOf(ZoneLookup.Found.class);
        assertThat(zone.warnings()).containsExactly(
                "line 9: edge.test. MX www.edge.test. is an alias (CNAME), which an MX or NS target must not be (RFC 2181 §10.3);"
                        + " name the host itself",
                "line 10: edge.test. MX mx9.edge.test. has no A or AAAA record in this zone");
        Files.writeString(file, Files.readString(file).replace("www CNAME ns1\nwww CNAME ns1", "www CNAME ns1\nwww CNAME mx9"));
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOf(ZoneFileException.class).hasMessageContaining("second CNAME");
    }

    /**
     * An RRSIG left behind by a hand edit of a signed zone (its A records removed) is ignored with a
     * warning: it made an empty RRset, answered as data with no record and no SOA.
     */
    @Test
    void anRrsigWithoutItsRecordsIsIgnoredWithAWarning() throws Exception {
        Path file = tmp.resolve("orphan.test.zone");
        Files.writeString(file, String.join("\n", "$ORIGIN orphan.test.", "$TTL 60", "@ SOA ns1 admin ( 1 2 3 4 5 )",
                "@ NS ns1", "ns1 A 127.0.0.1",
                "www RRSIG A 13 3 60 20300101000000 20200101000000 12345 orphan.test. AAAA", "") + "\n");
        ServedZone zone = ServedZone.load(file);
        assertThat(zone.lookup(name("www.orphan.test."), Type.A)).isInstanceOf(ZoneLookup.NxDomain.class);
        assertThat(zone.warnings()).containsExactly("line 6: www.orphan.test. RRSIG over A covers no A records; ignored"
                + " (sign the zone again after editing it)");
    }

    @Test
    void wildcardDoesNotAnswerBelowAnotherExistingName() throws Exception {
        // closest encloser mx1.srv.test has no wildcard child; *.wild is not an ancestor's wildcard
        assertThat(srv().lookup(name("x.mx1.srv.test."), Type.A)).isInstanceOf(ZoneLookup.NxDomain.class);
    }

    @Test
    void zoneCutIsAReferralExceptForDs() throws Exception {
        assertThat(srv().lookup(name("host.sub.srv.test."), Type.MX)).isInstanceOfSatisfying(ZoneLookup.Referral.class,
                r -> assertThat(r.ns().getName()).isEqualTo(name("sub.srv.test.")));
        assertThat(srv().lookup(name("sub.srv.test."), Type.DS)).isInstanceOf(ZoneLookup.NoData.class);
    }

    @Test
    void aliasIsReportedForOtherTypesButAnsweredForCname() throws Exception {
        assertThat(srv().lookup(name("www.srv.test."), Type.MX)).isInstanceOf(ZoneLookup.Alias.class);
        assertThat(srv().lookup(name("www.srv.test."), Type.CNAME)).isInstanceOf(ZoneLookup.Found.class);
    }

    @Test
    void anyIsAnsweredWithTheLowestTypeOnly() throws Exception {
        assertThat(srv().lookup(name("mx3.srv.test."), Type.ANY)).isInstanceOfSatisfying(ZoneLookup.Found.class,
                f -> assertThat(f.rrset().getType()).isEqualTo(Type.A));
    }

    @Test
    void negativeSoaTtlIsTheLesserOfTtlAndMinimum() throws Exception {
        assertThat(srv().negativeSoa().getTTL()).isEqualTo(120);
        assertThat(ServedZone.load(ZONES.resolve("relative.test.zone")).negativeSoa().getTTL()).isEqualTo(300);
    }

    @Test
    void cnameBesideOtherDataIsRefusedWithFileAndLine() {
        Path file = ZONES.resolve("alias-conflict.test.zone");
        assertThatThrownBy(() -> ServedZone.load(file))
                .isInstanceOfSatisfying(ZoneFileException.class, e -> {
                    assertThat(e.file()).isEqualTo(file);
                    assertThat(e.line()).isEqualTo(OptionalInt.of(10)); // the MX after the CNAME
                })
                .hasMessage(file + " line 10: www.alias-conflict.test. has a CNAME and MX data; an alias can have no"
                        + " other data (RFC 1034 §3.6.2): remove one of them");
    }

    @Test
    void cnameLineIsGivenWhenTheAliasComesSecond() throws Exception {
        Path file = tmp.resolve("late.example.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin (\n  1 2 3 4 5 )\n@ NS ns1\nns1 A 127.0.0.1\n"
                + "mail MX 10 ns1\n\n; an alias for a name that has data\n$TTL 90\nmail CNAME ns1\n");
        assertThatThrownBy(() -> ServedZone.load(file)).isInstanceOfSatisfying(ZoneFileException.class,
                e -> assertThat(e.line()).isEqualTo(OptionalInt.of(10)));
    }

    @Test
    void twoCnamesAtOneNameAreRefused() throws Exception {
        Path file = tmp.resolve("two.example.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.1\nw CNAME ns1\nw CNAME ns2\n");
        assertThatThrownBy(() -> ServedZone.load(file)).hasMessage(file + " line 6: w.two.example. has a second CNAME"
                + " (ns1.two.example. and ns2.two.example.); an alias names one target (RFC 2181 §10.1)");
    }

    @Test
    void dnssecRecordsMayStandBesideACname() throws Exception {
        Path file = tmp.resolve("signed.example.zone");
        Files.writeString(file, "$TTL 60\n@ SOA ns1 admin 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.1\nw CNAME ns1\n"
                + "w NSEC ns1 CNAME RRSIG NSEC\n"
                + "w RRSIG CNAME 13 3 60 20270101000000 20260101000000 12345 signed.example. AAAA\n");
        ServedZone z = ServedZone.load(file);
        assertThat(z.lookup(name("w.signed.example."), Type.A)).isInstanceOf(ZoneLookup.Alias.class);
        assertThat(z.warnings()).isEmpty();
    }

    @Test
    void rrsetWithMixedTtlsLoadsWithAWarningNamingIt() throws Exception {
        ServedZone z = ServedZone.load(ZONES.resolve("mixed-ttl.test.zone"));
        assertThat(z.warnings()).containsExactly("line 6: mx1.mixed-ttl.test. A has records with TTLs 60, 600; an RRset"
                + " has one TTL (RFC 2181 §5.2), so all are served with 60");
        assertThat(z.lookup(name("mx1.mixed-ttl.test."), Type.A)).isInstanceOfSatisfying(ZoneLookup.Found.class,
                f -> assertThat(f.rrset().getTTL()).isEqualTo(60));
    }

    /**
     * An MX target that a wildcard's address answers (RFC 4592), or that lies below a delegation (the child zone answers),
     * is not warned about as addressless; one under a wildcard without an address, one that exists with other data (no
     * wildcard applies), one below an empty non-terminal (the wildcard above it does not apply), and an NS target below a
     * cut without glue, and an empty non-terminal under a wildcard (no wildcard answers for a name that exists), still are.
     */
    @Test
    void targetsAWildcardOrAChildZoneAnswersAreNotWarnedAbout() throws Exception {
        Path file = tmp.resolve("cover.test.zone");
        Files.writeString(file, String.join("\n", "$ORIGIN cover.test.", "$TTL 60", "@ SOA ns1 admin ( 1 2 3 4 5 )",
                "@ NS ns1", "ns1 A 127.0.0.1", "*.hosts A 192.0.2.1", "*.bare TXT no-address", "txt.hosts TXT other",
                "deep.ent.hosts2 A 192.0.2.3", "*.hosts2 A 192.0.2.2", "child NS ns.child",
                "@ MX 10 mx.hosts", "@ MX 20 mx.child", "@ MX 30 mx.bare", "@ MX 40 txt.hosts", "@ MX 50 mx.ent.hosts2",
                "child2 NS ns.child2", "a.ent2.hosts A 192.0.2.4", "@ MX 60 ent2.hosts", "") + "\n");
        assertThat(ServedZone.load(file).warnings()).containsExactlyInAnyOrder(
                "line 14: cover.test. MX mx.bare.cover.test. has no A or AAAA record in this zone",
                "line 15: cover.test. MX txt.hosts.cover.test. has no A or AAAA record in this zone",
                "line 16: cover.test. MX mx.ent.hosts2.cover.test. has no A or AAAA record in this zone",
                "line 11: child.cover.test. NS ns.child.cover.test. has no A or AAAA record in this zone",
                "line 17: child2.cover.test. NS ns.child2.cover.test. has no A or AAAA record in this zone",
                "line 19: cover.test. MX ent2.hosts.cover.test. has no A or AAAA record in this zone");
    }

    @Test
    void zonesWithoutMixedTtlsHaveNoWarnings() throws Exception {
        // srv.test's 60 exchangers of big.srv.test exist only to make a large answer: each warned about as addressless
        assertThat(srv().warnings()).hasSize(60).allSatisfy(w -> assertThat(w).contains(" MX mail-exchanger-number-")
                .endsWith(" has no A or AAAA record in this zone"));
        assertThat(ServedZone.load(ZONES.resolve("relative.test.zone")).warnings()).isEmpty();
    }
}
