package dev.mxd.smtp;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * One SMTP command as the server receives it (RFC 5321 §4.1.1). A line that is not a valid
 * command parses to {@link Invalid}, carrying the reply the client must get; the session
 * never sees malformed input any other way.
 */
public sealed interface SmtpCommand {

    /** HELO domain (RFC 5321 §4.1.1.1). */
    record Helo(String domain) implements SmtpCommand {}

    /** EHLO domain-or-address-literal (RFC 5321 §4.1.1.1). */
    record Ehlo(String domain) implements SmtpCommand {}

    /** MAIL FROM:&lt;reverse-path&gt; [params]; an empty sender is the null reverse-path. */
    record Mail(Optional<Mailbox> sender, MailParameters parameters) implements SmtpCommand {}

    /** RCPT TO:&lt;forward-path&gt; [params]. */
    record Rcpt(Mailbox recipient, RcptParameters parameters) implements SmtpCommand {}

    /**
     * RCPT TO:&lt;Postmaster&gt; [params]: the reserved mailbox without a domain (RFC 5321
     * §4.1.1.3), which every server must accept and deliver (§4.5.1); its meaning is local.
     */
    record RcptPostmaster(RcptParameters parameters) implements SmtpCommand {}

    record Data() implements SmtpCommand {}

    record Rset() implements SmtpCommand {}

    record Noop() implements SmtpCommand {}

    record Quit() implements SmtpCommand {}

    record Vrfy(String argument) implements SmtpCommand {}

    record Help(String argument) implements SmtpCommand {}

    record StartTls() implements SmtpCommand {}

    /**
     * ETRN node (RFC 1985): send the mail queued here for a domain now. {@code node} is the domain as
     * written (a leading {@code @}, "and its subdomains", taken off), or a {@code #queue} name.
     */
    record Etrn(String node) implements SmtpCommand {}

    /** Not a valid command; {@code reply} says why (500 unknown, 501 bad arguments, 555 bad parameter). */
    /**
     * A command refused as written. {@code recipient}: a RCPT whose address read well and whose parameters did not, the
     * address, for the log's to= (as Postfix names the recipient of a refused RCPT). {@code verb}: the command's word in
     * capitals (MAIL, RCPT, ...), so that a session can answer a command out of sequence as such before its syntax.
     */
    record Invalid(SmtpReply reply, java.util.Optional<String> recipient, String verb) implements SmtpCommand {
        Invalid(SmtpReply reply) {
            this(reply, java.util.Optional.empty(), "");
        }

        Invalid(SmtpReply reply, java.util.Optional<String> recipient) {
            this(reply, recipient, "");
        }
    }

    /** Parses one command line without its CRLF. Non-ASCII must be valid UTF-8 (RFC 6531). */
    static SmtpCommand parse(byte[] line) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(line)).toString();
        } catch (CharacterCodingException e) {
            return new Invalid(Replies.syntax("command is not valid UTF-8"));
        }
        return parse(text);
    }

    static SmtpCommand parse(String line) {
        int sp = line.indexOf(' ');
        String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : line.substring(sp + 1);
        SmtpCommand command;
        try {
            command = switch (verb) {
                case "EHLO" -> new Ehlo(helloArgument(arg, "EHLO"));
                case "HELO" -> new Helo(helloArgument(arg, "HELO"));
                case "MAIL" -> mail(arg);
                case "RCPT" -> rcpt(arg);
                case "DATA" -> noArgument(arg, "DATA", new Data());
                case "RSET" -> noArgument(arg, "RSET", new Rset());
                case "QUIT" -> new Quit(); // an argument is ignored, as Postfix ignores it: the client wants to go
                case "STARTTLS" -> noArgument(arg, "STARTTLS", new StartTls());
                case "NOOP" -> new Noop(); // NOOP may carry a string, which is ignored (RFC 5321 §4.1.1.9)
                case "VRFY" -> arg.isBlank() ? new Invalid(Replies.syntax("VRFY needs an argument")) : new Vrfy(arg.strip());
                case "HELP" -> new Help(arg.strip());
                case "ETRN" -> etrn(arg);
                // Known to RFC 5321 and its extensions, not offered here: 502 (§4.2.4), not "unrecognized".
                case "EXPN", "TURN", "ATRN", "AUTH", "SEND", "SOML", "SAML" -> new Invalid(Replies.NOT_IMPLEMENTED);
                case "BDAT" -> new Invalid(Replies.CHUNKING_NOT_OFFERED); // the session ends: see the reply
                default -> new Invalid(Replies.UNKNOWN_COMMAND);
            };
        } catch (ParameterException e) {
            command = new Invalid(e.reply);
        } catch (IllegalArgumentException e) {
            command = new Invalid(Replies.syntax(e.getMessage()));
        }
        return command instanceof Invalid i ? new Invalid(i.reply(), i.recipient(), verb) : command;
    }

    /** ETRN takes one domain, {@code @domain} or {@code #queue} (RFC 1985 §5); the domain is checked as EHLO's. */
    private static SmtpCommand etrn(String arg) {
        String a = stripSpaces(arg);
        if (a.startsWith("#") && a.length() > 1 && a.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            return new Etrn(a);
        }
        String domain = a.startsWith("@") ? a.substring(1) : a;
        if (domain.isEmpty() || domain.startsWith("[")) {
            throw new IllegalArgumentException("ETRN needs a domain name: ETRN example.org");
        }
        return new Etrn(helloArgument(domain, "ETRN"));
    }

    private static SmtpCommand noArgument(String arg, String verb, SmtpCommand command) {
        return arg.isBlank() ? command : new Invalid(Replies.syntax(verb + " takes no arguments"));
    }

    /**
     * EHLO and HELO take one Domain or address-literal (RFC 5321 §4.1.1.1), checked like a path's
     * domain: the name is echoed in the reply, written into the Received field and logged.
     */
    private static String helloArgument(String arg, String verb) {
        String a = stripSpaces(arg);
        for (int k = 0; k < a.length(); k++) {
            char c = a.charAt(k);
            if (c < 0x20 || c >= 0x7f && c < 0xa0) {
                throw new IllegalArgumentException(String.format(
                        "%s argument has the control character 0x%02X; send your host name or an address literal", verb, (int) c));
            }
        }
        if (a.isEmpty() || a.indexOf(' ') >= 0) {
            throw new IllegalArgumentException(verb + " needs one argument: your host name or address literal");
        }
        return new PathParser(a, 0).helloName();
    }

    /** Spaces only: a tab or other control character around the argument is refused, not dropped. */
    private static String stripSpaces(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && s.charAt(from) == ' ') {
            from++;
        }
        while (to > from && s.charAt(to - 1) == ' ') {
            to--;
        }
        return s.substring(from, to);
    }

    /**
     * The longest address taken in MAIL or RCPT, as written (quoted where it must be, the domain in A-labels or as
     * sent, whichever is longer), in octets. RFC 5321 §4.5.3.1 sets 64 for a local part and 256 for a path but asks
     * servers not to enforce it (SRS and VERP local parts pass 64); an address goes whole into one header line
     * (Return-Path, Delivered-To, Received's "for"), which RFC 5322 §2.1.1 ends at 998 octets, so a longer one is
     * refused here rather than written into a line no reader need take.
     */
    static final int MAX_ADDRESS_OCTETS = 900;

    private static Mailbox bounded(Mailbox address) {
        // either form may be the one written: the domain in A-labels (Received's "for") is longer than its U-labels
        int octets = Math.max(address.toString().getBytes(StandardCharsets.UTF_8).length,
                address.toAscii().orElse(address).toString().getBytes(StandardCharsets.UTF_8).length);
        if (octets > MAX_ADDRESS_OCTETS) {
            throw new IllegalArgumentException("address of " + octets + " octets is too long: mxd takes at most "
                    + MAX_ADDRESS_OCTETS + ", so that it fits a header line");
        }
        return address;
    }

    private static SmtpCommand mail(String arg) {
        PathParser p = new PathParser(arg, afterKeyword(arg, "FROM:"));
        Optional<Mailbox> sender = p.reversePath().map(SmtpCommand::bounded);
        MailParameters params = mailParameters(arg.substring(p.position()));
        if (sender.isPresent() && sender.get().isUtf8() && !params.smtputf8()) {
            throw new ParameterException(Replies.UTF8_NOT_PERMITTED);
        }
        return new Mail(sender, params);
    }

    private static SmtpCommand rcpt(String arg) {
        int start = afterKeyword(arg, "TO:");
        String postmaster = "<postmaster>"; // case-insensitive, RFC 5321 §4.5.1
        if (arg.regionMatches(true, start, postmaster, 0, postmaster.length())) {
            return new RcptPostmaster(rcptParameters(arg.substring(start + postmaster.length())));
        }
        String bare = "postmaster"; // without brackets, as any other path (PathParser#path)
        int after = start + bare.length();
        if (arg.regionMatches(true, start, bare, 0, bare.length()) && (after == arg.length() || arg.charAt(after) == ' ')) {
            return new RcptPostmaster(rcptParameters(arg.substring(after)));
        }
        PathParser p = new PathParser(arg, start);
        Mailbox rcpt = bounded(p.path());
        try {
            return new Rcpt(rcpt, rcptParameters(arg.substring(p.position())));
        } catch (ParameterException e) {
            return new Invalid(e.reply, java.util.Optional.of(rcpt.toString()));
        } catch (IllegalArgumentException e) {
            return new Invalid(Replies.syntax(e.getMessage()), java.util.Optional.of(rcpt.toString()));
        }
    }

    /** "FROM:" / "TO:" case-insensitively; a space after the colon is tolerated, as most servers do. */
    private static int afterKeyword(String arg, String keyword) {
        if (!arg.regionMatches(true, 0, keyword, 0, keyword.length())) {
            throw new IllegalArgumentException("expected " + keyword + "<address>");
        }
        int i = keyword.length();
        while (i < arg.length() && arg.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    /** Splits " KEY=VALUE KEY2" (RFC 5321 §4.1.2 Mail-parameters); each keyword at most once. */
    private static String[][] parameters(String rest) {
        if (rest.isEmpty()) {
            return new String[0][];
        }
        if (rest.charAt(0) != ' ') {
            throw new IllegalArgumentException("expected a space before the parameters at '" + rest + "'");
        }
        String trimmed = rest.strip();
        if (trimmed.isEmpty()) {
            return new String[0][]; // "MAIL FROM:<a@b.example> ": a trailing space, as some clients send; Postfix and Exim take it
        }
        String[] words = trimmed.split(" +");
        String[][] out = new String[words.length][];
        Set<String> seen = new HashSet<>();
        for (int k = 0; k < words.length; k++) {
            String w = words[k];
            int eq = w.indexOf('=');
            String key = (eq < 0 ? w : w.substring(0, eq)).toUpperCase(Locale.ROOT);
            if (!key.matches("[A-Z0-9][A-Z0-9-]*")) {
                throw new IllegalArgumentException("bad parameter '" + w + "'");
            }
            if (!seen.add(key)) {
                throw new IllegalArgumentException("parameter " + key + " given twice");
            }
            out[k] = new String[] {key, eq < 0 ? null : w.substring(eq + 1)};
        }
        return out;
    }

    private static long parseOrMax(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException overflow) {
            return Long.MAX_VALUE;
        }
    }

    private static MailParameters mailParameters(String rest) {
        OptionalLong size = OptionalLong.empty();
        MailParameters.Body body = MailParameters.Body.SEVEN_BIT;
        boolean utf8 = false;
        Optional<DsnReturn> ret = Optional.empty();
        Optional<String> envid = Optional.empty();
        boolean requireTls = false;
        for (String[] kv : parameters(rest)) {
            String key = kv[0];
            String value = kv[1];
            switch (key) {
                case "SIZE" -> {
                    if (value == null || !value.matches("\\d{1,20}")) {
                        throw new IllegalArgumentException("SIZE needs a number of octets (RFC 1870)");
                    }
                    // RFC 1870 allows 20 digits: a size past a long's range is past any limit, so it is that limit's 552
                    size = OptionalLong.of(value.length() < 19 ? Long.parseLong(value) : parseOrMax(value));
                }
                case "BODY" -> {
                    String v = value == null ? "" : value.toUpperCase(Locale.ROOT);
                    body = switch (v) {
                        case "7BIT" -> MailParameters.Body.SEVEN_BIT;
                        case "8BITMIME" -> MailParameters.Body.EIGHT_BIT_MIME;
                        default -> throw new ParameterException(Replies.BODY_NOT_SUPPORTED);
                    };
                }
                case "SMTPUTF8" -> {
                    if (value != null) {
                        throw new IllegalArgumentException("SMTPUTF8 takes no value (RFC 6531 §3.4)");
                    }
                    utf8 = true;
                }
                case "RET" -> {
                    String v = value == null ? "" : value.toUpperCase(Locale.ROOT);
                    if (!v.equals("FULL") && !v.equals("HDRS")) {
                        throw new IllegalArgumentException("RET must be FULL or HDRS (RFC 3461 §4.3)");
                    }
                    ret = Optional.of(DsnReturn.valueOf(v));
                }
                case "ENVID" -> {
                    // RFC 3461 §4.4 bounds what a sender makes (100 characters); Postfix and Exim take and pass on longer ones,
                    // and refusing one bounced the whole message upstream. Taken up to five times that, which still keeps
                    // the notices' Original-Envelope-Id field well inside a line (RFC 5322 §2.1.1).
                    if (value == null || value.isEmpty() || value.length() > MAX_ENVID) {
                        throw new IllegalArgumentException("ENVID needs an xtext value of at most " + MAX_ENVID
                                + " characters (RFC 3461 §4.4 asks senders for 100)");
                    }
                    envid = Optional.of(envelopeId(value));
                }
                case "REQUIRETLS" -> {
                    if (value != null) {
                        throw new IllegalArgumentException("REQUIRETLS takes no value (RFC 8689 §3)");
                    }
                    requireTls = true;
                }
                default -> throw new ParameterException(Replies.unknownParameter(key));
            }
        }
        return new MailParameters(size, body, utf8, ret, envid, requireTls);
    }

    private static RcptParameters rcptParameters(String rest) {
        Set<DsnNotify> notify = EnumSet.noneOf(DsnNotify.class);
        Optional<String> orcpt = Optional.empty();
        for (String[] kv : parameters(rest)) {
            String value = kv[1];
            switch (kv[0]) {
                case "NOTIFY" -> {
                    if (value == null || value.isEmpty()) {
                        throw new IllegalArgumentException("NOTIFY needs NEVER or a list of SUCCESS, FAILURE, DELAY");
                    }
                    for (String n : value.toUpperCase(Locale.ROOT).split(",", -1)) {
                        try {
                            notify.add(DsnNotify.valueOf(n));
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException("NOTIFY value '" + n + "' is not NEVER, SUCCESS, FAILURE or DELAY");
                        }
                    }
                }
                case "ORCPT" -> {
                    orcpt = originalRecipient(value);
                }
                default -> throw new ParameterException(Replies.unknownParameter(kv[0]));
            }
        }
        return new RcptParameters(notify, orcpt);
    }

    /** The longest ENVID taken, as xtext. */
    static final int MAX_ENVID = 500;

    /**
     * ENVID's decoded value: RFC 3461 §4.4 allows printable US-ASCII only. A decoded CR or LF
     * (sent as "+0D+0A") would otherwise reach the delivery-status part of a later DSN.
     */
    private static String envelopeId(String value) {
        String id = Xtext.decode(value);
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException(String.format(
                        "ENVID must decode to printable US-ASCII (RFC 3461 §4.4); +%02X is not allowed", (int) c & 0xff));
            }
        }
        return id;
    }

    /**
     * ORCPT as "addr-type;address" with the address decoded (RFC 3461 §4.2): addr-type is an
     * atom, the address is xtext that must not decode to a control character. Empty for "rfc822;" with no address:
     * xtext may be empty, and the ORCPT only informs; Postfix and Exim pass it on, and a 501 bounced the recipient
     * upstream, so it is taken as no ORCPT.
     */
    private static Optional<String> originalRecipient(String value) {
        int semi = value == null ? -1 : value.indexOf(';');
        if (semi <= 0) {
            throw new IllegalArgumentException("ORCPT needs addr-type;address, like rfc822;user@example.org (RFC 3461 §4.2)");
        }
        String type = value.substring(0, semi);
        if (!type.matches("[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")) {
            throw new IllegalArgumentException("ORCPT address type '" + type + "' is not an atom like rfc822 (RFC 3461 §4.2)");
        }
        if (semi == value.length() - 1) {
            return Optional.empty();
        }
        // RFC 6533 §3: a utf-8 address (UTF-8, or \x{HEX} in its ASCII form) is kept as the rfc822
        // address it names, as an ORCPT=rfc822;j+C3+BCrgen@... from Postfix is; it goes on that way.
        boolean utf8 = type.equalsIgnoreCase("utf-8");
        String address;
        try {
            address = utf8 ? Xtext.decodeUtf8Address(value.substring(semi + 1)) : Xtext.decodeAddress(value.substring(semi + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("ORCPT address: " + e.getMessage() + " (RFC 3461 §4.2)", e);
        }
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (Character.isISOControl(c)) {
                throw new IllegalArgumentException(String.format(
                        "ORCPT address must not contain control characters (RFC 3461 §4.2); +%02X is not allowed", (int) c & 0xff));
            }
        }
        return Optional.of((utf8 ? "rfc822" : type) + ";" + address);
    }

    /** A parameter problem that has its own reply code rather than 501. */
    final class ParameterException extends RuntimeException {
        final transient SmtpReply reply;

        ParameterException(SmtpReply reply) {
            super(reply.summary(), null, false, false);
            this.reply = reply;
        }
    }
}
