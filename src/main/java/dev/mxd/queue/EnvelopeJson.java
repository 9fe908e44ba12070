package dev.mxd.queue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The on-disk form of an {@link Envelope}: small, readable JSON (docs/spool.md), written by
 * hand so that the format is stable and does not follow renamed Java fields. Every accepted
 * message writes one and every delivery reads one, so both stream (no tree of nodes in between)
 * and spell their times by {@link Timestamps}. The reader takes the fields in any order and passes
 * over fields it does not know; a missing field, or a value of another kind, reads as a node
 * tree's {@code asText}, {@code asLong} and {@code asBoolean} read it (empty, zero, false), as
 * the reader before this one did. A recipient that is not an object makes the envelope malformed.
 */
final class EnvelopeJson {

    private static final JsonFactory JSON = new JsonFactory();
    static final int VERSION = 1;

    private EnvelopeJson() {}

    static byte[] write(Envelope e) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.setPrettyPrinter(new DefaultPrettyPrinter());
            g.writeStartObject();
            g.writeNumberField("version", VERSION);
            g.writeStringField("id", e.id());
            g.writeStringField("sender", e.sender().map(Mailbox::toString).orElse(""));
            g.writeStringField("arrival", Timestamps.iso(e.arrival()));
            g.writeNumberField("size", e.size());
            MailParameters p = e.parameters();
            g.writeStringField("body", p.body() == MailParameters.Body.EIGHT_BIT_MIME ? "8BITMIME" : "7BIT");
            g.writeBooleanField("smtputf8", p.smtputf8());
            if (p.ret().isPresent()) {
                g.writeStringField("ret", p.ret().get().name());
            }
            if (p.envid().isPresent()) {
                g.writeStringField("envid", p.envid().get());
            }
            if (p.requireTls()) {
                g.writeBooleanField("requiretls", true); // RFC 8689; absent in envelopes written before it, which read as false
            }
            // Written only for notices: envelopes without the key (all of those before it) are mail.
            switch (e.kind()) {
                case SENDER_NOTICE -> g.writeStringField("notice", "sender");
                case POSTMASTER_NOTICE -> g.writeStringField("notice", "postmaster");
                case MAIL -> { }
            }
            g.writeObjectFieldStart("client");
            g.writeStringField("address", e.client().remote().getAddress().getHostAddress());
            g.writeNumberField("port", e.client().remote().getPort());
            g.writeStringField("helo", e.client().helo());
            g.writeBooleanField("esmtp", e.client().esmtp());
            g.writeBooleanField("tls", e.client().tls());
            g.writeEndObject();
            g.writeArrayFieldStart("recipients");
            for (RecipientStatus s : e.recipients()) {
                writeRecipient(g, s);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    private static void writeRecipient(JsonGenerator g, RecipientStatus s) throws IOException {
        g.writeStartObject();
        g.writeStringField("address", s.recipient().address().toString());
        g.writeArrayFieldStart("notify");
        for (DsnNotify n : DsnNotify.values()) { // in the enum's order, as before
            if (s.recipient().dsn().notifyOn().contains(n)) {
                g.writeString(n.name());
            }
        }
        g.writeEndArray();
        if (s.recipient().dsn().orcpt().isPresent()) {
            g.writeStringField("orcpt", s.recipient().dsn().orcpt().get());
        }
        if (s.recipient().route() instanceof Route.Local l) {
            g.writeStringField("route", "local");
            g.writeStringField("domain", l.domain());
            g.writeArrayFieldStart("mailboxes");
            for (String m : l.mailboxes()) {
                g.writeString(m);
            }
            g.writeEndArray();
        } else {
            g.writeStringField("route", "relay");
            g.writeStringField("domain", ((Route.Relay) s.recipient().route()).domain());
        }
        g.writeStringField("state", s.state().name().toLowerCase(Locale.ROOT));
        g.writeStringField("detail", s.detail());
        g.writeStringField("updated", Timestamps.iso(s.updated()));
        if (s.status().isPresent()) {
            g.writeStringField("status", s.status().get().toString());
        }
        if (s.remoteMta().isPresent()) {
            g.writeStringField("remote-mta", s.remoteMta().get());
        }
        g.writeEndObject();
    }

    private static Envelope.Kind kind(String notice) throws IOException {
        if (notice == null) {
            return Envelope.Kind.MAIL;
        }
        return switch (notice) {
            case "sender" -> Envelope.Kind.SENDER_NOTICE;
            case "postmaster" -> Envelope.Kind.POSTMASTER_NOTICE;
            default -> throw new IOException("envelope field notice is '" + notice + "', not sender or postmaster");
        };
    }

    /**
     * A recipient's recorded status code. mxd writes only valid codes; one that is not (a file
     * edited by hand) reads as none, so the message is still delivered, with X.0.0 in a notice.
     */
    private static Optional<EnhancedStatus> status(String text) {
        return text == null ? Optional.empty() : EnhancedStatus.parse(text);
    }

    /** The fields of one recipient as read, turned into a {@link RecipientStatus} once the version is known. */
    private static final class RecipientFields {
        String address = "";
        final List<String> notifyNames = new ArrayList<>();
        String orcpt;
        String route = "";
        String domain = "";
        final List<String> mailboxes = new ArrayList<>();
        String state = "";
        String detail = "";
        String updated = "";
        String status;
        String remoteMta;

        RecipientStatus toStatus() {
            Set<DsnNotify> notify = EnumSet.noneOf(DsnNotify.class);
            notifyNames.forEach(n -> notify.add(DsnNotify.valueOf(n)));
            RcptParameters dsn = new RcptParameters(notify, Optional.ofNullable(orcpt));
            Route r = route.equals("local") ? new Route.Local(domain, mailboxes) : new Route.Relay(domain);
            return new RecipientStatus(new Recipient(Mailbox.parse(address), dsn, r),
                    DeliveryState.valueOf(state.toUpperCase(Locale.ROOT)), detail, Timestamps.parseIso(updated),
                    status(status), Optional.ofNullable(remoteMta));
        }
    }

    static Envelope read(byte[] bytes) throws IOException {
        int version = 0;
        String id = "";
        String sender = "";
        String arrival = "";
        long size = 0;
        String body = "";
        boolean smtputf8 = false;
        String ret = null;
        String envid = null;
        boolean requireTls = false;
        String notice = null;
        String address = "";
        int port = 0;
        String helo = "";
        boolean esmtp = false;
        boolean tls = false;
        List<RecipientFields> recipients = new ArrayList<>();
        try (JsonParser p = JSON.createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("malformed envelope: not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "version" -> version = (int) number(p);
                    case "id" -> id = text(p);
                    case "sender" -> sender = text(p);
                    case "arrival" -> arrival = text(p);
                    case "size" -> size = number(p);
                    case "body" -> body = text(p);
                    case "smtputf8" -> smtputf8 = flag(p);
                    case "ret" -> ret = optional(p);
                    case "envid" -> envid = optional(p);
                    case "requiretls" -> requireTls = flag(p);
                    case "notice" -> notice = optional(p);
                    case "client" -> {
                        if (p.currentToken() != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String f = p.currentName();
                            p.nextToken();
                            switch (f) {
                                case "address" -> address = text(p);
                                case "port" -> port = (int) number(p);
                                case "helo" -> helo = text(p);
                                case "esmtp" -> esmtp = flag(p);
                                case "tls" -> tls = flag(p);
                                default -> p.skipChildren();
                            }
                        }
                    }
                    case "recipients" -> {
                        recipients.clear(); // a repeated key: the last one counts, as in a JSON object
                        if (p.currentToken() == JsonToken.START_ARRAY) {
                            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY && t != null; t = p.nextToken()) {
                                if (t != JsonToken.START_OBJECT) {
                                    // never drop a recipient quietly: the envelope is refused and the message kept
                                    throw new IOException("malformed envelope: recipient " + (recipients.size() + 1) + " is not an object");
                                }
                                recipients.add(recipient(p));
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException("malformed envelope: " + e.getOriginalMessage(), e);
        }
        try {
            if (version != VERSION) {
                throw new IOException("envelope version " + version + " is not " + VERSION);
            }
            MailParameters params = new MailParameters(OptionalLong.empty(),
                    body.equals("8BITMIME") ? MailParameters.Body.EIGHT_BIT_MIME : MailParameters.Body.SEVEN_BIT,
                    smtputf8, ret == null ? Optional.empty() : Optional.of(DsnReturn.valueOf(ret)), Optional.ofNullable(envid), requireTls);
            ClientInfo client = new ClientInfo(new InetSocketAddress(InetAddress.getByName(address), port), helo, esmtp, tls);
            List<RecipientStatus> rs = new ArrayList<>(recipients.size());
            for (RecipientFields r : recipients) {
                rs.add(r.toStatus());
            }
            return new Envelope(id, sender.isEmpty() ? Optional.empty() : Optional.of(Mailbox.parse(sender)), params, rs,
                    client, Timestamps.parseIso(arrival), size, kind(notice));
        } catch (RuntimeException e) {
            throw new IOException("malformed envelope: " + e.getMessage(), e);
        }
    }

    /** One recipient's object, the parser on its START_OBJECT; leaves it on the END_OBJECT. */
    private static RecipientFields recipient(JsonParser p) throws IOException {
        RecipientFields r = new RecipientFields();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            p.nextToken();
            switch (f) {
                case "address" -> r.address = text(p);
                case "notify" -> strings(p, r.notifyNames);
                case "orcpt" -> r.orcpt = optional(p);
                case "route" -> r.route = text(p);
                case "domain" -> r.domain = text(p);
                case "mailboxes" -> strings(p, r.mailboxes);
                case "state" -> r.state = text(p);
                case "detail" -> r.detail = text(p);
                case "updated" -> r.updated = text(p);
                case "status" -> r.status = optional(p);
                case "remote-mta" -> r.remoteMta = optional(p);
                default -> p.skipChildren();
            }
        }
        return r;
    }

    /** A scalar's text: "null" for null, "" for an object or an array (passed over), as a tree node's {@code asText} reads them. */
    private static String text(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return "null";
        }
        String v = optional(p);
        return v == null ? "" : v;
    }

    /** A number (a numeric text too); 0 for anything else, an object or an array passed over. */
    private static long number(JsonParser p) throws IOException {
        if (p.currentToken().isStructStart()) {
            p.skipChildren();
            return 0;
        }
        return p.getValueAsLong();
    }

    /** true, a non-zero number or the text "true"; false for anything else, an object or an array passed over. */
    private static boolean flag(JsonParser p) throws IOException {
        if (p.currentToken().isStructStart()) {
            p.skipChildren();
            return false;
        }
        return p.getValueAsBoolean();
    }

    /** A scalar's text, or null for null, an object or an array (passed over). */
    private static String optional(JsonParser p) throws IOException {
        if (p.currentToken().isStructStart()) {
            p.skipChildren();
            return null;
        }
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsString();
    }

    /** The texts of an array's values into {@code into} (each as {@link #text} reads it); anything but an array is passed over. */
    private static void strings(JsonParser p, List<String> into) throws IOException {
        into.clear(); // a repeated key: the last one counts
        if (p.currentToken() != JsonToken.START_ARRAY) {
            p.skipChildren();
            return;
        }
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY && t != null; t = p.nextToken()) {
            into.add(text(p));
        }
    }
}
