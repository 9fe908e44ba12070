package dev.mxd.dns.server;

import java.io.IOException;
import java.security.NoSuchAlgorithmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Master;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Zone;
import org.xbill.DNS.utils.base32;

/**
 * One zone served with authority: the records of an RFC 1035 master file, parsed by dnsjava,
 * and the lookup an authoritative server does in them (RFC 1034 §4.3.2 step 3).
 *
 * <p>dnsjava's {@link Zone} parses and checks the file (one SOA at the origin, NS at the apex),
 * but its {@code findRecords} reports a name that exists only as an empty non-terminal as
 * NXDOMAIN, lets a wildcard answer below an existing closest encloser, and answers DS from the
 * child side of a cut. Knot and RFC 4592 do neither, so the descent here is our own, over an
 * index built once from the parsed zone. Immutable after loading: lookups need no locks.
 */
public final class ServedZone {

    private static final Name WILDCARD_LABEL = Name.fromConstantString("*");
    private static final base32 BASE32HEX = new base32("0123456789ABCDEFGHIJKLMNOPQRSTUV=", false, true);
    /** dnsjava's parse errors read "file.zone:7: reason". */
    private static final Pattern PARSE_ERROR = Pattern.compile("(?s)(.*?):(\\d+): (.*)");

    private final Path file;
    private final Name origin;
    private final SOARecord soa;
    private final Map<Name, Map<Integer, RRset>> nodes;
    /** Every name that exists: owners and the empty non-terminals between them and the origin. */
    private final Set<Name> names;
    private final int recordCount;
    private final List<String> warnings;
    /** NSEC RRsets (with their RRSIGs) by owner, in canonical order (RFC 4034 §6.1): the chain of denial. */
    private final NavigableMap<Name, RRset> nsecChain;
    /** NSEC3 RRsets by hashed owner, in hash order (RFC 5155 §3.3); not part of {@link #nodes}: their owners do not exist as names. */
    private final NavigableMap<Name, RRset> nsec3Chain;
    private final java.util.concurrent.atomic.LongAdder hashes = new java.util.concurrent.atomic.LongAdder();
    /** One NSEC3 record, whose algorithm, iterations and salt hash every name of the zone (RFC 5155 §7.1). */
    private final Optional<NSEC3Record> nsec3Parameters;
    private final boolean signed;

    private ServedZone(Path file, Zone zone, List<String> warnings) {
        this.file = file;
        this.warnings = List.copyOf(warnings);
        this.origin = zone.getOrigin();
        this.soa = zone.getSOA();
        Map<Name, Map<Integer, RRset>> index = new HashMap<>();
        Set<Name> existing = new HashSet<>();
        NavigableMap<Name, RRset> nsec = new TreeMap<>();
        NavigableMap<Name, RRset> nsec3 = new TreeMap<>();
        int count = 0;
        for (Iterator<RRset> it = zone.iterator(); it.hasNext(); ) {
            RRset set = it.next();
            count += set.size() + set.sigSize();
            if (set.getType() == Type.NSEC3) {
                nsec3.put(set.getName(), set);
                continue;
            }
            if (set.getType() == Type.NSEC) {
                nsec.put(set.getName(), set);
            }
            index.computeIfAbsent(set.getName(), n -> new LinkedHashMap<>()).put(set.getType(), set);
            for (Name n = set.getName(); n.labels() >= origin.labels() && existing.add(n); n = new Name(n, 1)) {
                // walk up to the origin, stopping where an ancestor is already known
            }
        }
        index.replaceAll((name, types) -> Collections.unmodifiableMap(types));
        this.nodes = Collections.unmodifiableMap(index);
        this.names = Collections.unmodifiableSet(existing);
        this.recordCount = count;
        this.nsecChain = Collections.unmodifiableNavigableMap(nsec);
        this.nsec3Chain = Collections.unmodifiableNavigableMap(nsec3);
        this.nsec3Parameters = nsec3.values().stream().flatMap(s -> s.rrs(false).stream())
                .map(NSEC3Record.class::cast).findFirst();
        RRset keys = nodes.getOrDefault(origin, Map.of()).get(Type.DNSKEY);
        this.signed = keys != null && keys.sigSize() > 0;
    }

    /**
     * Parses a master file. The origin is the owner of its SOA record (the file's $ORIGIN, or
     * an absolute SOA owner); relative names before any $ORIGIN are taken relative to the file
     * name without a {@code .zone} or {@code .db} suffix, as a name server's configuration would
     * name the zone.
     */
    public static ServedZone load(Path file) throws ZoneFileException {
        if (!Files.isRegularFile(file)) {
            throw new ZoneFileException(file, OptionalInt.empty(), "no such file (give the path of an RFC 1035 zone file)");
        }
        Map<Path, Path> copies = new LinkedHashMap<>(); // each copy, and the file it is read for
        try {
            Optional<Path> rewritten;
            try {
                rewritten = withAbsoluteOrigins(file, originFromFileName(file), copies, new ArrayList<>());
            } catch (IOException e) {
                throw new ZoneFileException(file, OptionalInt.empty(), "cannot read: " + e.getMessage());
            }
            return load(file, rewritten.orElse(file), copies);
        } finally {
            for (Path copy : copies.keySet()) {
                try {
                    Files.deleteIfExists(copy);
                } catch (IOException ignored) {
                    // a temporary file of the system's temporary directory
                }
            }
        }
    }

    /**
     * RFC 1035 §5.1: a relative name after {@code $ORIGIN} is relative to the origin in force, as BIND
     * reads it ({@code $ORIGIN example.test.} then {@code $ORIGIN mail} is mail.example.test.; {@code
     * $ORIGIN @} changes nothing), and so is the origin a {@code $INCLUDE} line gives its file; dnsjava's
     * parser takes both from the root, which put every record after them outside the zone. A file with
     * such a line is read through a copy, line for line (so line numbers hold), with those names made
     * absolute and relative {@code $INCLUDE} paths made absolute (the copy lives elsewhere); an included
     * file is read the same way, through a copy of its own when it needs one (each copy is added to
     * {@code copies} with the file it stands for, for errors to name and the caller to delete). Empty for a file that needs no copy: parsed as it is.
     */
    private static Optional<Path> withAbsoluteOrigins(Path file, Optional<Name> origin, Map<Path, Path> copies, List<Path> reading)
            throws IOException, ZoneFileException {
        List<String> lines = Files.readAllLines(file, java.nio.charset.StandardCharsets.ISO_8859_1);
        OptionalInt unclosed = unclosedParenthesis(lines);
        if (unclosed.isPresent()) {
            throw new ZoneFileException(file, unclosed, "the \"(\" on this line is never closed: the file ends inside it (cut"
                    + " off, or a \")\" missing)");
        }
        reading.add(file.toAbsolutePath().normalize());
        Optional<Name> current = origin;
        boolean changed = false;
        if (!lines.isEmpty() && lines.get(0).startsWith(UTF8_BOM)) {
            // a Windows editor's byte-order mark: read as part of the first name, it made the SOA owner "\239\187\191@..."
            lines.set(0, lines.get(0).substring(UTF8_BOM.length()));
            changed = true;
        }
        List<String> out = new ArrayList<>(lines.size());
        for (int number = 1; number <= lines.size(); number++) {
            String line = lines.get(number - 1);
            Matcher m = DIRECTIVE.matcher(line);
            if (!m.matches()) { // records, not a directive's file name or origin
                String escaped = octetsEscaped(line);
                changed |= !escaped.equals(line);
                line = escaped;
            }
            if (m.matches() && m.group(1).equalsIgnoreCase("$ORIGIN")) {
                String name = m.group(2);
                if (name.equals("@") && current.isPresent()) {
                    out.add(m.group(1) + " " + current.get() + m.group(3)); // the origin in force, not the root
                    changed = true;
                    continue;
                }
                if (!name.endsWith(".") && current.isPresent()) {
                    try {
                        Name absolute = Name.fromString(name, current.get());
                        out.add(m.group(1) + " " + absolute + m.group(3));
                        current = Optional.of(absolute);
                        changed = true;
                        continue;
                    } catch (TextParseException badName) {
                        // left as it is: the parser says what is wrong with it
                    }
                } else if (name.endsWith(".")) {
                    try {
                        current = Optional.of(Name.fromString(name));
                    } catch (TextParseException badName) {
                        // idem
                    }
                }
            } else if (m.matches() && m.group(1).equalsIgnoreCase("$INCLUDE")) {
                Matcher inc = INCLUDE.matcher(line);
                if (inc.matches()) {
                    String written = inc.group(2) != null ? inc.group(2) : inc.group(3);
                    Path included = file.toAbsolutePath().getParent().resolve(written);
                    // its origin: the line's own (relative to the origin in force, as BIND reads it), else the one in force
                    Optional<Name> itsOrigin = current;
                    String originText = inc.group(4);
                    if (originText != null) {
                        try {
                            itsOrigin = Optional.of(current.isPresent() ? Name.fromString(originText, current.get())
                                    : Name.fromString(originText));
                        } catch (TextParseException badName) {
                            itsOrigin = Optional.empty(); // left as it is: the parser says what is wrong with it
                        }
                    }
                    if (reading.contains(included.normalize())) {
                        // the parser has no such check: it nested until the stack overflowed
                        throw new ZoneFileException(file, OptionalInt.of(number), "$INCLUDE " + written
                                + " includes a file that is already being read (" + included.normalize() + "): an include loop");
                    }
                    if (reading.size() > MAX_INCLUDE_DEPTH) {
                        throw new ZoneFileException(file, OptionalInt.of(number), "$INCLUDE " + written + " nests includes deeper than "
                                + MAX_INCLUDE_DEPTH + " files");
                    }
                    if (!Files.exists(included) || Files.isDirectory(included)) {
                        // said here with the line of the $INCLUDE: the parser's own error named no line (other files the
                        // parser may read, /dev/null included, are left to it)
                        throw new ZoneFileException(file, OptionalInt.of(number), "$INCLUDE " + written + ": "
                                + (Files.isDirectory(included) ? "is a directory" : "no such file") + " (" + included.normalize() + ")");
                    }
                    Optional<Path> copy = Files.isRegularFile(included)
                            ? withAbsoluteOrigins(included, itsOrigin, copies, reading) : Optional.empty();
                    String origin2 = originText == null ? "" : " " + (itsOrigin.isPresent() ? itsOrigin.get().toString() : originText);
                    // quoted: a path with a space (as the file's own quoted name may have) is one token
                    out.add(inc.group(1) + " \"" + copy.orElse(included) + "\"" + origin2 + (inc.group(5) == null ? "" : inc.group(5)));
                    changed |= copy.isPresent() || !Path.of(written).isAbsolute() || originText != null
                            || inc.group(2) != null;
                    continue;
                }
            }
            out.add(line);
        }
        reading.remove(reading.size() - 1);
        if (!changed) {
            return Optional.empty();
        }
        Path copy = Files.createTempFile("mxd-zone-", ".zone");
        copies.put(copy, file);
        Files.write(copy, out, java.nio.charset.StandardCharsets.ISO_8859_1);
        return Optional.of(copy);
    }

    /** The UTF-8 byte-order mark as the file's lines are read (one char an octet). */
    private static final String UTF8_BOM = "\u00EF\u00BB\u00BF";

    /**
     * The line with every octet above 127 written as {@code \DDD} (RFC 1035 §5.1), so that text in a TXT record
     * is served as the octets of the file: dnsjava's parser reads a char an octet and then encoded a character
     * string as UTF-8 again, so UTF-8 "é" was served as four octets. An octet already escaped by a backslash gets
     * its digits after that backslash.
     */
    static String octetsEscaped(String line) {
        StringBuilder out = null;
        int backslashes = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c > 127) {
                if (out == null) {
                    out = new StringBuilder(line.length() + 16).append(line, 0, i);
                }
                out.append(backslashes % 2 == 1 ? "" : "\\").append(String.format("%03d", (int) c & 0xFF));
            } else if (out != null) {
                out.append(c);
            }
            backslashes = c == '\\' ? backslashes + 1 : 0;
        }
        return out == null ? line : out.toString();
    }

    /**
     * The line of a "(" that the file never closes (RFC 1035 §5.1), if any: dnsjava's parser ends such a record at the end
     * of the file without a word, so a file cut off in the middle of a multi-line record (an edit saved half-way, a copy
     * cut short) loaded, and a reload took it. Quoted strings and comments are skipped; a backslash escapes the next character.
     */
    static OptionalInt unclosedParenthesis(List<String> lines) {
        int openedAt = 0; // the line of the outermost "(" still open
        int depth = 0; // nested, as the parser counts them
        boolean quoted = false;
        for (int number = 1; number <= lines.size(); number++) {
            String line = lines.get(number - 1);
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    quoted = !quoted;
                } else if (quoted) {
                    continue;
                } else if (c == ';') {
                    break;
                } else if (c == '(') {
                    if (depth++ == 0) {
                        openedAt = number;
                    }
                } else if (c == ')' && depth > 0 && --depth == 0) {
                    openedAt = 0;
                }
            }
            quoted = false; // a quoted string does not run past its line (the parser refuses it there)
        }
        return openedAt == 0 ? OptionalInt.empty() : OptionalInt.of(openedAt);
    }

    /** Files included one in another at most. */
    private static final int MAX_INCLUDE_DEPTH = 8;

    /**
     * A $INCLUDE line: the directive; the file name, quoted or not; the origin, if given; the rest
     * (a comment). dnsjava reads a quoted name too, but not one made absolute inside the quotes.
     */
    private static final Pattern INCLUDE = Pattern.compile(
            "(\\$[Ii][Nn][Cc][Ll][Uu][Dd][Ee])[ \t]+(?:\"([^\"]*)\"|([^ \t;\"]+))(?:[ \t]+([^ \t;]+))?([ \t]*(?:;.*)?)");

    /** A $ORIGIN or $INCLUDE line: the directive, its first argument, and the rest of the line. */
    private static final Pattern DIRECTIVE = Pattern.compile("(\\$[A-Za-z]+)[ \t]+([^ \t;]+)(.*)");

    private static ServedZone load(Path file, Path source, Map<Path, Path> copies) throws ZoneFileException {
        List<Record> records = new ArrayList<>();
        Optional<Name> named = originFromFileName(file);
        try (Master master = new Master(source.toString(), named.orElse(null))) {
            for (Record r = master.nextRecord(); r != null; r = master.nextRecord()) {
                records.add(r);
            }
        } catch (TextParseException e) {
            throw parseError(file, source, copies, e);
        } catch (IOException e) {
            throw new ZoneFileException(file, OptionalInt.empty(), "cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            // dnsjava's parser fails this way on some malformed names (a line of empty quoted strings,
            // found by fuzzing); it reports no line, so say how far it got.
            throw new ZoneFileException(file, OptionalInt.empty(), "cannot parse the record after the " + records.size()
                    + " read so far (" + e + "); look there for an empty or badly quoted name");
        }
        List<Record> soas = records.stream().filter(r -> r.getType() == Type.SOA).toList();
        if (soas.isEmpty()) {
            throw new ZoneFileException(file, OptionalInt.empty(),
                    "no SOA record: a zone file must give the SOA of its origin (RFC 1035 §5.2)");
        }
        if (soas.size() > 1) {
            throw new ZoneFileException(file, OptionalInt.empty(), "more than one SOA record (" + soas.get(0).getName()
                    + " and " + soas.get(1).getName() + "): one zone per file");
        }
        Name origin = soas.get(0).getName();
        RecordLines lines = new RecordLines(source, named);
        if (named.isPresent() && doubled(origin, named.get())) {
            // "$ORIGIN example.test" (no final dot) in example.test.zone is example.test.example.test.: BIND reads it so,
            // and named-checkzone then refuses the file, since its SOA is not at the zone's top
            throw new ZoneFileException(file, lines.lineOf(soas.get(0)), "the SOA record's owner is " + origin + ", the zone "
                    + named.get() + " twice over: a name without its final dot is relative to the origin (a $ORIGIN or"
                    + " SOA owner written \"" + named.get().relativize(Name.root) + "\" means " + origin + "); end it with a dot");
        }
        List<String> outside = new ArrayList<>();
        for (Record r : records) {
            if (r.getDClass() != DClass.IN) {
                throw new ZoneFileException(file, OptionalInt.empty(), r.getName() + " " + Type.string(r.getType())
                        + ": class " + DClass.string(r.getDClass()) + " is not served; only IN");
            }
            if (!r.getName().subdomain(origin)) {
                // BIND and Knot load such a zone and ignore the record (zones exported from a provider carry its glue)
                OptionalInt line = lines.lineOf(r);
                outside.add((line.isPresent() ? "line " + line.getAsInt() + ": " : "") + r.getName() + " " + Type.string(r.getType())
                        + " is outside the zone " + origin + "; ignored (check $ORIGIN and trailing dots if it was meant to be in it)");
            }
        }
        records.removeIf(r -> !r.getName().subdomain(origin));
        // An RRSIG whose records are gone (a signed zone edited by hand) would make an empty RRset, served as an
        // answer without data and without the SOA (or, over NS, a zone cut): ignored with a warning, as unusable.
        java.util.Set<List<Object>> covered = new java.util.HashSet<>();
        for (Record r : records) {
            if (r.getType() != Type.RRSIG) {
                covered.add(List.of(r.getName(), r.getType()));
            }
        }
        for (java.util.Iterator<Record> it = records.iterator(); it.hasNext(); ) {
            Record r = it.next();
            if (r instanceof org.xbill.DNS.RRSIGRecord sig && !covered.contains(List.of(r.getName(), sig.getTypeCovered()))) {
                OptionalInt line = lines.lineOf(r);
                outside.add((line.isPresent() ? "line " + line.getAsInt() + ": " : "") + r.getName() + " RRSIG over "
                        + Type.string(sig.getTypeCovered()) + " covers no " + Type.string(sig.getTypeCovered())
                        + " records; ignored (sign the zone again after editing it)");
                it.remove();
            }
        }
        for (Record r : records) {
            if (r.getType() == Type.DNAME) {
                // Serving it would take the rewriting of RFC 6672 §3.2 for every name below it; loaded and not applied,
                // each of those names would be answered NXDOMAIN with authority. Refused, with what to do instead.
                throw aliasError(file, lines, r, r.getName() + " DNAME: mxd dns does not synthesise answers below a DNAME"
                        + " (RFC 6672); give the names below it CNAME records, or serve this zone with Knot or BIND");
            }
        }
        checkAliases(file, records, lines);
        List<String> warnings = new ArrayList<>(outside);
        warnings.addAll(mixedTtls(records, lines));
        warnings.addAll(targetsWithoutAddress(origin, records, lines));
        try {
            return new ServedZone(file, new Zone(origin, records.toArray(new Record[0])), warnings);
        } catch (IOException e) {
            throw new ZoneFileException(file, OptionalInt.empty(), e.getMessage());
        }
    }

    /**
     * A CNAME owner has no other data (RFC 1034 §3.6.2) and one CNAME (RFC 2181 §10.1); only the
     * DNSSEC records of the alias itself may stand beside it (RFC 4035 §2.5). Knot refuses such a
     * zone, and so does this server: which answer a resolver got would depend on the type it asked.
     */
    private static void checkAliases(Path file, List<Record> records, RecordLines lines) throws ZoneFileException {
        Map<Name, Record> aliases = new HashMap<>();
        for (Record r : records) {
            if (r.getType() == Type.CNAME) {
                Record before = aliases.putIfAbsent(r.getName(), r);
                if (before != null && !before.rdataToString().equalsIgnoreCase(r.rdataToString())) { // the same one twice is one RRset (RFC 2181 §5)
                    throw aliasError(file, lines, r, r.getName() + " has a second CNAME (" + before.rdataToString() + " and "
                            + r.rdataToString() + "); an alias names one target (RFC 2181 §10.1)");
                }
            }
        }
        for (Record r : records) {
            Record alias = aliases.get(r.getName());
            if (alias != null && r.getType() != Type.CNAME && r.getType() != Type.RRSIG && r.getType() != Type.NSEC) {
                Record later = lines.lineOf(r).orElse(0) > lines.lineOf(alias).orElse(0) ? r : alias;
                throw aliasError(file, lines, later, r.getName() + " has a CNAME and " + Type.string(r.getType())
                        + " data; an alias can have no other data (RFC 1034 §3.6.2): remove one of them");
            }
        }
    }

    private static ZoneFileException aliasError(Path file, RecordLines lines, Record at, String reason) {
        OptionalInt line = lines.lineOf(at);
        return new ZoneFileException(file, line, line.isPresent() ? reason : reason + " (in a file it $INCLUDEs)");
    }

    /**
     * MX and NS records whose target is in this zone but is an alias (RFC 2181 §10.3 forbids it;
     * strict senders skip such an exchange, mxd among them with --strict) or has no A or AAAA
     * record here (no mail can reach it): warned about, as BIND's check-mx-cname and check-mx do
     * by default. Targets outside the zone are other zones' business; so is an MX target at or
     * below a delegation (the child zone answers for it), and a target that only a wildcard's
     * A or AAAA answers for (RFC 4592) has its address.
     */
    private static List<String> targetsWithoutAddress(Name origin, List<Record> records, RecordLines lines) {
        Map<Name, java.util.Set<Integer>> types = new HashMap<>();
        for (Record r : records) {
            types.computeIfAbsent(r.getName(), k -> new java.util.HashSet<>()).add(r.getType());
        }
        java.util.Set<Name> existing = new java.util.HashSet<>(); // owners and the empty non-terminals above them (RFC 8020)
        for (Name owner : types.keySet()) {
            for (Name n = owner; n != null && n.subdomain(origin) && existing.add(n); n = parent(n)) {
                // each ancestor once: the walk stops at the first one already there
            }
        }
        List<String> out = new ArrayList<>();
        for (Record r : records) {
            Name target = r instanceof MXRecord mx ? mx.getTarget() : r instanceof NSRecord ns ? ns.getTarget() : null;
            if (target == null || target.equals(Name.root) || !target.subdomain(origin)) {
                continue; // a null MX (RFC 7505), or another zone's name
            }
            java.util.Set<Integer> at = types.getOrDefault(target, java.util.Set.of());
            boolean answered = at.contains(Type.A) || at.contains(Type.AAAA)
                    || (at.isEmpty() && wildcardAddress(origin, target, existing, types))
                    || (r instanceof MXRecord && delegated(origin, target, types));
            String problem = at.contains(Type.CNAME) ? "is an alias (CNAME), which an MX or NS target must not be (RFC 2181 §10.3);"
                    + " name the host itself"
                    : !answered ? "has no A or AAAA record in this zone" : null;
            if (problem != null) {
                OptionalInt line = lines.lineOf(r);
                out.add((line.isPresent() ? "line " + line.getAsInt() + ": " : "") + r.getName() + " " + Type.string(r.getType())
                        + " " + target + " " + problem);
            }
        }
        return out;
    }

    /** {@code name}, which has no records, is answered by the wildcard at its closest encloser (RFC 4592 §3.3.1), with an address. */
    private static boolean wildcardAddress(Name origin, Name name, java.util.Set<Name> existing, Map<Name, java.util.Set<Integer>> types) {
        if (existing.contains(name)) {
            return false; // an empty non-terminal (names below it exist): no wildcard answers for it (RFC 4592 §2.2.2)
        }
        for (Name up = parent(name); up != null && up.subdomain(origin); up = parent(up)) {
            if (existing.contains(up)) {
                java.util.Set<Integer> wild = types.getOrDefault(wildcard(up), java.util.Set.of());
                return wild.contains(Type.A) || wild.contains(Type.AAAA);
            }
        }
        return false;
    }

    /** A zone cut (NS records below the apex) at or above {@code name}: the child zone answers for it. */
    private static boolean delegated(Name origin, Name name, Map<Name, java.util.Set<Integer>> types) {
        for (Name at = name; at != null && at.subdomain(origin) && !at.equals(origin); at = parent(at)) {
            if (types.getOrDefault(at, java.util.Set.of()).contains(Type.NS)) {
                return true;
            }
        }
        return false;
    }

    private static Name parent(Name n) {
        return n.labels() > 1 ? new Name(n, 1) : null;
    }

    private static Name wildcard(Name at) {
        try {
            return Name.concatenate(Name.fromConstantString("*"), at);
        } catch (org.xbill.DNS.NameTooLongException e) {
            return at; // no wildcard fits under a name this long
        }
    }

    /**
     * RRsets whose records were given different TTLs. RFC 2181 §5.2 forbids that; dnsjava serves the
     * whole set at the lowest, as BIND and Knot do, so the zone loads, with a warning naming the set.
     * RRSIGs are left out: those covering different types share an owner and type and may differ.
     */
    private static List<String> mixedTtls(List<Record> records, RecordLines lines) {
        Map<List<Object>, List<Record>> sets = new LinkedHashMap<>();
        for (Record r : records) {
            if (r.getType() != Type.RRSIG) {
                sets.computeIfAbsent(List.of(r.getName(), r.getType()), k -> new ArrayList<>()).add(r);
            }
        }
        List<String> warnings = new ArrayList<>();
        for (List<Record> set : sets.values()) {
            List<Long> ttls = set.stream().map(Record::getTTL).distinct().sorted().toList();
            if (ttls.size() > 1) {
                Record first = set.get(0);
                OptionalInt line = lines.lineOf(first);
                warnings.add((line.isPresent() ? "line " + line.getAsInt() + ": " : "") + first.getName() + " "
                        + Type.string(first.getType()) + " has records with TTLs " + ttls.stream().map(String::valueOf)
                        .collect(Collectors.joining(", ")) + "; an RRset has one TTL (RFC 2181 §5.2), so all are served with "
                        + ttls.get(0));
            }
        }
        return warnings;
    }

    /** Whether {@code origin} is {@code named} appended to a name that itself ends with {@code named}'s labels. */
    static boolean doubled(Name origin, Name named) {
        if (named.labels() <= 1 || !origin.subdomain(named) || origin.equals(named)) {
            return false;
        }
        Name inner = origin.relativize(named);
        try {
            return Name.concatenate(inner, Name.root).subdomain(named);
        } catch (org.xbill.DNS.NameTooLongException impossible) {
            return false;
        }
    }

    /** "srv.test.zone", "srv.test.db" and (BIND's Debian layout) "db.srv.test" name the zone srv.test. */
    static Optional<Name> originFromFileName(Path file) {
        String name = file.getFileName().toString();
        String base = name.replaceFirst("\\.(zone|db)$", "");
        if (base.equals(name)) {
            base = base.replaceFirst("^db\\.(?=.)", ""); // only a name without a suffix is in BIND's db.DOMAIN form
        }
        try {
            return Optional.of(Name.fromString(base, Name.root));
        } catch (TextParseException notAName) {
            return Optional.empty();
        }
    }

    private static ZoneFileException parseError(Path file, Path source, Map<Path, Path> copies, TextParseException e) {
        Matcher m = PARSE_ERROR.matcher(String.valueOf(e.getMessage()));
        if (!m.matches()) {
            return new ZoneFileException(file, OptionalInt.empty(), String.valueOf(e.getMessage()).replace(source.toString(), file.toString()));
        }
        String named = m.group(1);
        // A $INCLUDEd file reports its own name: point at that file, next to the zone file. The copy a relative
        // $ORIGIN is read through is the zone file, line for line.
        boolean zoneFile = named.equals(file.getFileName().toString()) || named.equals(source.toString())
                || named.equals(source.getFileName().toString());
        // an included file read through a copy: the parser names the copy (by its file name, or whole)
        Optional<Map.Entry<Path, Path>> copied = copies.entrySet().stream()
                .filter(c -> c.getKey().toString().equals(named) || c.getKey().getFileName().toString().equals(named)).findFirst();
        Path where = zoneFile ? file : copied.isPresent() ? copied.get().getValue()
                : Path.of(named).isAbsolute() ? Path.of(named) : file.resolveSibling(named);
        int line = Integer.parseInt(m.group(2));
        String reason = m.group(3);
        // A record that ends before its last field ("x MX 10") is found missing at the end of its line, once the parser
        // has counted that line's end: it names the next line (one past the last for the file's last record). When the
        // file cut before the line named fails the same way (and that line's end was no token, outside "( … )"), the
        // record ends on the line before. Asked of the file the parser read: the zone file's copy, or an included file
        // (through a copy of its own, if one was made).
        Path read = zoneFile ? source : copied.map(Map.Entry::getKey).orElse(where);
        if (reason.startsWith("expected") && line > 1
                && endsBefore(read, zoneFile ? originFromFileName(file).orElse(null) : null, line, reason)) {
            line--;
        }
        return new ZoneFileException(where, OptionalInt.of(line), reason);
    }

    /**
     * Whether the parse error {@code reason} the parser put on line {@code line} is already in the lines before it: the
     * file cut before that line fails the same way (so the record missing a field ends on the line before). Read
     * again only on this error path, from a copy in the temporary directory.
     */
    private static boolean endsBefore(Path source, Name origin, int line, String reason) {
        Path cut = null;
        try {
            // octet for octet (a zone file may hold Latin-1 text in a TXT record)
            List<String> all = java.nio.file.Files.readAllLines(source, java.nio.charset.StandardCharsets.ISO_8859_1);
            List<String> before = all.subList(0, Math.min(line - 1, all.size()));
            if (unclosedParenthesis(before).isPresent()) {
                return false; // inside "( … )" a line's end is no token: the error's token is on the line named
            }
            cut = java.nio.file.Files.createTempFile("mxd-zone-line", ".zone");
            java.nio.file.Files.write(cut, before, java.nio.charset.StandardCharsets.ISO_8859_1);
            try (Master master = new Master(cut.toString(), origin)) {
                while (master.nextRecord() != null) {
                    // read to the end or the first error
                }
            }
            return false;
        } catch (TextParseException e) {
            Matcher m = PARSE_ERROR.matcher(String.valueOf(e.getMessage()));
            return m.matches() && m.group(3).equals(reason);
        } catch (IOException | RuntimeException e) {
            return false;
        } finally {
            if (cut != null) {
                try {
                    java.nio.file.Files.deleteIfExists(cut);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }

    public Path file() {
        return file;
    }

    public Name origin() {
        return origin;
    }

    /** What loaded but deserves the operator's eye (an RRset with mixed TTLs), each naming its line. */
    public List<String> warnings() {
        return warnings;
    }

    public int recordCount() {
        return recordCount;
    }

    /**
     * The zone's SOA for the authority section of a negative answer: its TTL is the lesser of
     * the SOA's own TTL and its MINIMUM field (RFC 2308 §3).
     */
    public SOARecord negativeSoa() {
        long ttl = Math.min(soa.getTTL(), soa.getMinimum());
        return new SOARecord(origin, DClass.IN, ttl, soa.getHost(), soa.getAdmin(), soa.getSerial(),
                soa.getRefresh(), soa.getRetry(), soa.getExpire(), soa.getMinimum());
    }

    /**
     * Looks {@code qname} up (it must be at or below the origin). Descends from the origin one
     * label at a time: a zone cut below the apex is a referral, except for DS at the cut, which
     * the parent answers (RFC 4035 §3.1.4.1); the first missing name makes its parent the closest
     * encloser, whose wildcard child, if any, answers in the name's place (RFC 4592 §3.3.1).
     */
    public ZoneLookup lookup(Name qname, int type) {
        int total = qname.labels();
        for (int labels = origin.labels() + 1; labels <= total; labels++) {
            Name name = labels == total ? qname : new Name(qname, total - labels);
            if (!names.contains(name)) {
                Name closestEncloser = new Name(qname, total - labels + 1);
                Name star = wildcardOf(closestEncloser);
                Map<Integer, RRset> wildcard = nodes.get(star);
                if (wildcard == null && names.contains(star)) {
                    return atNode(Map.of(), qname, type); // a wildcard that is an empty non-terminal: NODATA (RFC 4592 §4.9)
                }
                return wildcard == null ? new ZoneLookup.NxDomain() : atNode(wildcard, qname, type);
            }
            RRset ns = nodes.getOrDefault(name, Map.of()).get(Type.NS);
            if (ns != null && !(labels == total && type == Type.DS)) {
                return new ZoneLookup.Referral(ns);
            }
        }
        return atNode(nodes.getOrDefault(qname, Map.of()), qname, type);
    }

    /**
     * Whether the zone was signed offline: its apex has DNSKEY records and RRSIGs over them. Only
     * then are RRSIGs and denial of existence added to answers for queries with DO set.
     */
    public boolean signed() {
        return signed;
    }

    /** The negative answer's SOA ({@link #negativeSoa}) with the RRSIGs over the apex SOA, at the same TTL. */
    RRset negativeSoaSet() {
        SOARecord negative = negativeSoa();
        RRset out = new RRset(negative);
        RRset apex = nodes.getOrDefault(origin, Map.of()).get(Type.SOA);
        if (apex != null) {
            apex.sigs().forEach(sig -> out.addRR((RRSIGRecord) Record.newRecord(origin, Type.RRSIG, DClass.IN,
                    negative.getTTL(), sig.rdataToWireCanonical())));
        }
        return out;
    }

    /** Whether {@code name} exists in the zone: an owner, or an empty non-terminal above one (RFC 4592 §2.2.2). */
    boolean exists(Name name) {
        return names.contains(name);
    }

    /** The longest name that exists and is {@code name} or one of its ancestors (RFC 4592 §3.3.1), the origin at worst. */
    Name closestEncloser(Name name) {
        Name n = name;
        while (!names.contains(n) && n.labels() > origin.labels()) {
            n = new Name(n, 1);
        }
        return n;
    }

    /** The RRset of {@code type} (with its RRSIGs) at exactly {@code name}, if the zone has one. */
    Optional<RRset> rrset(Name name, int type) {
        return Optional.ofNullable(nodes.getOrDefault(name, Map.of()).get(type));
    }

    /** Whether denial of existence is by NSEC3 (RFC 5155) rather than NSEC (RFC 4034). */
    boolean hashedDenial() {
        return nsec3Parameters.isPresent();
    }

    /** The NSEC RRset owned by {@code name}. */
    Optional<RRset> nsecAt(Name name) {
        return Optional.ofNullable(nsecChain.get(name));
    }

    /**
     * The NSEC RRset whose owner comes last before {@code name} in canonical order (RFC 4034 §6.1),
     * which proves that {@code name} does not exist; the last of the chain when none comes before.
     */
    Optional<RRset> nsecCovering(Name name) {
        Map.Entry<Name, RRset> e = nsecChain.lowerEntry(name);
        return Optional.ofNullable(e != null ? e : nsecChain.lastEntry()).map(Map.Entry::getValue);
    }

    /** The NSEC3 RRset whose owner is the hash of {@code name} (RFC 5155 §7.2: "matches"). */
    Optional<RRset> nsec3Matching(Name name) {
        return hashedOwner(name).map(nsec3Chain::get);
    }

    /** The NSEC3 RRset whose interval holds the hash of {@code name} (RFC 5155 §7.2: "covers"), wrapping at the end. */
    Optional<RRset> nsec3Covering(Name name) {
        return hashedOwner(name).map(h -> {
            Map.Entry<Name, RRset> e = nsec3Chain.lowerEntry(h);
            return (e != null ? e : nsec3Chain.lastEntry()).getValue();
        });
    }

    /** The owner an NSEC3 record for {@code name} has: its hash in base 32 with the extended hex alphabet, under the origin. */
    private Optional<Name> hashedOwner(Name name) {
        if (nsec3Parameters.isEmpty() || nsec3Chain.isEmpty()) {
            return Optional.empty();
        }
        hashes.increment();
        try {
            String label = BASE32HEX.toString(nsec3Parameters.get().hashName(name));
            return Optional.of(Name.concatenate(Name.fromString(label), origin));
        } catch (NoSuchAlgorithmException | TextParseException | NameTooLongException e) {
            return Optional.empty(); // an unknown hash algorithm (only SHA-1 is defined): no proof can be given
        }
    }

    /** NSEC3 hashes computed for answers so far: each is 1 + iterations SHA-1 rounds a query costs. */
    long hashesComputed() {
        return hashes.sum();
    }

    /** The A and AAAA RRsets at {@code name} (glue below a cut included), for the additional section. */
    public List<RRset> addresses(Name name) {
        Map<Integer, RRset> node = nodes.getOrDefault(name, Map.of());
        List<RRset> out = new ArrayList<>(2);
        for (int type : new int[] {Type.A, Type.AAAA}) {
            RRset set = node.get(type);
            if (set != null) {
                out.add(set);
            }
        }
        return out;
    }

    static Name wildcardOf(Name closestEncloser) {
        try {
            return Name.concatenate(WILDCARD_LABEL, closestEncloser);
        } catch (org.xbill.DNS.NameTooLongException e) {
            return closestEncloser; // no wildcard can exist under a name this long
        }
    }

    /** The data at one node, with owner names spelled as the query spelled them. */
    private static ZoneLookup atNode(Map<Integer, RRset> node, Name qname, int type) {
        if (type == Type.ANY) {
            // RFC 8482 §4.2: one RRset answers ANY. Like Knot, the one of the lowest type.
            return node.values().stream().min(Comparator.comparingInt(RRset::getType))
                    .<ZoneLookup>map(s -> new ZoneLookup.Found(renamed(s, qname)))
                    .orElseGet(ZoneLookup.NoData::new);
        }
        if (type == Type.RRSIG) {
            // As Knot answers it: the signatures over one RRset, the one of the lowest type, as for ANY (RFC 8482 §4.2)
            return node.values().stream().filter(set -> !set.sigs().isEmpty()).min(Comparator.comparingInt(RRset::getType))
                    .<ZoneLookup>map(set -> new ZoneLookup.Signatures(set.sigs().stream().map(sig -> (Record) sig.withName(qname)).toList()))
                    .orElseGet(ZoneLookup.NoData::new);
        }
        RRset exact = node.get(type);
        if (exact != null) {
            return new ZoneLookup.Found(renamed(exact, qname));
        }
        RRset cname = node.get(Type.CNAME);
        if (cname != null) {
            return new ZoneLookup.Alias(renamed(cname, qname));
        }
        return new ZoneLookup.NoData();
    }

    /**
     * Wildcard synthesis (RFC 4592 §3.4.1) and case preservation both give records the query's name;
     * RRSIGs go with them, their labels field still counting the wildcard's labels (RFC 4035 §3.1.3.3).
     */
    private static RRset renamed(RRset set, Name owner) {
        RRset out = new RRset();
        for (Record r : set.rrs(false)) {
            out.addRR(r.withName(owner));
        }
        for (RRSIGRecord sig : set.sigs()) {
            out.addRR((RRSIGRecord) sig.withName(owner));
        }
        return out;
    }
}
