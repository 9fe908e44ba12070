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
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("trust anchor file " + file + ": " + e.getMessage(), e);
        }
        try (Master master = new Master(file.toString(), Name.root, 3600)) {
            Record r;
            while ((r = master.nextRecord()) != null) {
                if (r.getType() != Type.DS && r.getType() != Type.DNSKEY || r.getDClass() != DClass.IN) {
                    throw new IllegalArgumentException("trust anchor file " + file + ": line " + lineOf(lines, r)
                            + ": " + Type.string(r.getType()) + " record for " + r.getName()
                            + " is not a DS or DNSKEY record of class IN");
                }
                out.add(r);
            }
        } catch (IOException e) {
            // dnsjava's parse errors read "NAME:LINE: what", with the file's name only; give its whole path.
            String msg = String.valueOf(e.getMessage());
            String name = String.valueOf(file.getFileName());
            String where = msg.startsWith(name + ":") ? file + msg.substring(name.length()) : file + ": " + msg;
            throw new IllegalArgumentException("trust anchor file " + where, e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("trust anchor file " + file + " holds no DS or DNSKEY records");
        }
        return out;
    }

    /** The first line that starts with the record's owner and names its type (for the message only; 1 if none does). */
    private static int lineOf(List<String> lines, Record r) {
        String owner = r.getName().toString();
        String bare = owner.endsWith(".") && owner.length() > 1 ? owner.substring(0, owner.length() - 1) : owner;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            List<String> tokens = List.of(l.split("\\s+"));
            boolean ownerFirst = tokens.get(0).equalsIgnoreCase(owner) || tokens.get(0).equalsIgnoreCase(bare);
            if (ownerFirst && tokens.contains(Type.string(r.getType()))) {
                return i + 1;
            }
        }
        return 1;
    }
}
