package dev.mxd.dns;

import java.io.IOException;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The root zone's trust anchors as IANA publishes them (root-anchors.xml): the DS records of the
 * key-signing keys KSK-2017 (tag 20326) and KSK-2024 (tag 38696). Used when {@code dns.trust-anchors}
 * names no file.
 */
final class RootAnchors {

    private static final String[] DS = {
        "20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        "38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    };

    private RootAnchors() {}

    static List<Record> records() {
        return java.util.Arrays.stream(DS).map(RootAnchors::parse).toList();
    }

    private static Record parse(String rdata) {
        try {
            return Record.fromString(Name.root, Type.DS, DClass.IN, 172800, rdata, Name.root);
        } catch (IOException e) {
            throw new IllegalStateException("built-in root anchor does not parse: " + rdata, e);
        }
    }
}
