package dev.mxd.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The DNSSEC part of the {@code dns} key: {@code dns.dnssec} and {@code dns.trust-anchors}.
 * Anchor files are read when the configuration is loaded, so a missing or broken one stops
 * the start with its file and line instead of turning every answer bogus later.
 *
 * @param mode         auto (default), validate or off
 * @param anchorFiles  the files given; empty means the root zone's published anchors
 * @param anchors      the DS and DNSKEY records read from them
 */
public record DnssecConfig(DnssecMode mode, List<Path> anchorFiles, List<Record> anchors) {

    /** Validation decided at start-up, from the root's anchors. */
    public static final DnssecConfig DEFAULTS = new DnssecConfig(DnssecMode.AUTO, List.of(), List.of());

    public DnssecConfig {
        anchorFiles = List.copyOf(anchorFiles);
        anchors = List.copyOf(anchors);
    }

    /** Reads the anchor files; throws IllegalArgumentException naming the file (and line) at fault. */
    public static DnssecConfig of(DnssecMode mode, List<Path> files) {
        List<Record> anchors = new ArrayList<>();
        for (Path f : files) {
            anchors.addAll(readAnchors(f));
        }
        return new DnssecConfig(mode, files, anchors);
    }

    /**
     * DS or DNSKEY records in zone-file format (RFC 1035 §5; {@code $ORIGIN} and {@code $TTL} allowed,
     * owner names relative to the root). Anything else, or nothing at all, is an error.
     */
    public static List<Record> readAnchors(Path file) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("trust anchor file " + file + " does not exist or cannot be read");
        }
        List<Record> out = new ArrayList<>();
        List<String> lines;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
            lines = new ArrayList<>(List.of(new String(bytes, StandardCharsets.UTF_8).split("\r?\n", -1)));
        } catch (IOException e) {
            throw new IllegalArgumentException("trust anchor file " + file + ": " + e.getMessage(), e);
        }
        // A byte-order mark (a Windows editor's) read as part of the first owner made the root's anchor one for a
        // name no answer is under: the root had no anchor left, and every answer was insecure, DANE never applied.
        boolean bom = bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF;
        if (bom) {
            lines.set(0, lines.get(0).substring(1));
        }
        try (Master master = bom ? new Master(new java.io.ByteArrayInputStream(bytes, 3, bytes.length - 3), Name.root, 3600)
                : new Master(file.toString(), Name.root, 3600)) {
            Record r;
            while ((r = master.nextRecord()) != null) {
                if (r.getType() != Type.DS && r.getType() != Type.DNSKEY || r.getDClass() != DClass.IN) {
                    throw new IllegalArgumentException("trust anchor file " + file + ": line " + lineOf(lines, r)
                            + ": " + Type.string(r.getType()) + " record for " + r.getName()
                            + " is not a DS or DNSKEY record of class IN");
                }
                if (!printable(r.getName())) {
                    throw new IllegalArgumentException("trust anchor file " + file + ": line " + lineOf(lines, r) + ": the owner "
                            + r.getName() + " holds octets no host name has (a stray character before it?)");
                }
                out.add(r);
            }
        } catch (IOException e) {
            // dnsjava's parse errors read "NAME:LINE: what", with the file's name only (or "<none>" read from memory);
            // give its whole path.
            String msg = String.valueOf(e.getMessage());
            String name = bom ? "<none>" : String.valueOf(file.getFileName());
            String where = msg.startsWith(name + ":") ? file + msg.substring(name.length()) : file + ": " + msg;
            throw new IllegalArgumentException("trust anchor file " + where, e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("trust anchor file " + file + " holds no DS or DNSKEY records");
        }
        return out;
    }

    /** Whether every octet of the name's labels is a printable ASCII character. */
    private static boolean printable(Name name) {
        byte[] wire = name.toWire();
        for (int i = 0; i < wire.length; ) {
            int length = wire[i++] & 0xFF;
            for (int j = 0; j < length; j++, i++) {
                if (wire[i] < 0x21 || wire[i] > 0x7E) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The first line that starts with the record's owner and names its type (for the message only; 1 if none does). */
    private static int lineOf(List<String> lines, Record r) {
        // octets outside printable ASCII left out on both sides: the name prints them as \DDD, the line holds them raw
        String owner = r.getName().toString().replaceAll("\\\\\\d{3}", "");
        String bare = owner.endsWith(".") && owner.length() > 1 ? owner.substring(0, owner.length() - 1) : owner;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            List<String> tokens = List.of(l.split("\\s+"));
            String first = tokens.get(0).replaceAll("[^\\x21-\\x7E]", "");
            boolean ownerFirst = first.equalsIgnoreCase(owner) || first.equalsIgnoreCase(bare);
            if (ownerFirst && tokens.contains(Type.string(r.getType()))) {
                return i + 1;
            }
        }
        return 1;
    }
}
