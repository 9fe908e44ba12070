package dev.mxd.queue;

import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.EnhancedStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The on-disk form of an {@link Envelope}: small, readable JSON (docs/spool.md), written by
 * hand so that the format is stable and does not follow renamed Java fields.
 */
final class EnvelopeJson {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final int VERSION = 1;

    private EnvelopeJson() {}

    static byte[] write(Envelope e) throws IOException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("version", VERSION);
        o.put("id", e.id());
        o.put("sender", e.sender().map(Mailbox::toString).orElse(""));
        o.put("arrival", e.arrival().toString());
        o.put("size", e.size());
        MailParameters p = e.parameters();
        o.put("body", p.body() == MailParameters.Body.EIGHT_BIT_MIME ? "8BITMIME" : "7BIT");
        o.put("smtputf8", p.smtputf8());
        p.ret().ifPresent(r -> o.put("ret", r.name()));
        p.envid().ifPresent(v -> o.put("envid", v));
        if (p.requireTls()) {
            o.put("requiretls", true); // RFC 8689; absent in envelopes written before it, which read as false
        }
        // Written only for notices: envelopes without the key (all of those before it) are mail.
        switch (e.kind()) {
            case SENDER_NOTICE -> o.put("notice", "sender");
            case POSTMASTER_NOTICE -> o.put("notice", "postmaster");
            case MAIL -> { }
        }
        ObjectNode c = o.putObject("client");
        c.put("address", e.client().remote().getAddress().getHostAddress());
        c.put("port", e.client().remote().getPort());
        c.put("helo", e.client().helo());
        c.put("esmtp", e.client().esmtp());
        c.put("tls", e.client().tls());
        ArrayNode rs = o.putArray("recipients");
        for (RecipientStatus s : e.recipients()) {
            ObjectNode r = rs.addObject();
            r.put("address", s.recipient().address().toString());
            ArrayNode n = r.putArray("notify");
            s.recipient().dsn().notifyOn().stream().sorted().forEach(x -> n.add(x.name()));
            s.recipient().dsn().orcpt().ifPresent(v -> r.put("orcpt", v));
            if (s.recipient().route() instanceof Route.Local l) {
                r.put("route", "local");
                r.put("domain", l.domain());
                ArrayNode m = r.putArray("mailboxes");
                l.mailboxes().forEach(m::add);
            } else {
                r.put("route", "relay");
                r.put("domain", ((Route.Relay) s.recipient().route()).domain());
            }
            r.put("state", s.state().name().toLowerCase(java.util.Locale.ROOT));
            r.put("detail", s.detail());
            r.put("updated", s.updated().toString());
            s.status().ifPresent(v -> r.put("status", v.toString()));
            s.remoteMta().ifPresent(v -> r.put("remote-mta", v));
        }
        return MAPPER.writeValueAsBytes(o);
    }

    private static Envelope.Kind kind(JsonNode notice) throws IOException {
        if (notice.isMissingNode() || notice.isNull()) {
            return Envelope.Kind.MAIL;
        }
        return switch (notice.asText()) {
            case "sender" -> Envelope.Kind.SENDER_NOTICE;
            case "postmaster" -> Envelope.Kind.POSTMASTER_NOTICE;
            default -> throw new IOException("envelope field notice is '" + notice.asText() + "', not sender or postmaster");
        };
    }

    /**
     * A recipient's recorded status code. mxd writes only valid codes; one that is not (a file
     * edited by hand) reads as none, so the message is still delivered, with X.0.0 in a notice.
     */
    private static Optional<EnhancedStatus> status(String text) {
        return EnhancedStatus.parse(text);
    }

    static Envelope read(byte[] bytes) throws IOException {
        JsonNode o = MAPPER.readTree(bytes);
        try {
            if (o.path("version").asInt() != VERSION) {
                throw new IOException("envelope version " + o.path("version") + " is not " + VERSION);
            }
            String sender = o.path("sender").asText();
            MailParameters p = new MailParameters(OptionalLong.empty(),
                    o.path("body").asText().equals("8BITMIME") ? MailParameters.Body.EIGHT_BIT_MIME : MailParameters.Body.SEVEN_BIT,
                    o.path("smtputf8").asBoolean(),
                    o.hasNonNull("ret") ? Optional.of(DsnReturn.valueOf(o.get("ret").asText())) : Optional.empty(),
                    o.hasNonNull("envid") ? Optional.of(o.get("envid").asText()) : Optional.empty(),
                    o.path("requiretls").asBoolean(false));
            JsonNode c = o.path("client");
            ClientInfo client = new ClientInfo(new InetSocketAddress(InetAddress.getByName(c.path("address").asText()), c.path("port").asInt()),
                    c.path("helo").asText(), c.path("esmtp").asBoolean(), c.path("tls").asBoolean());
            List<RecipientStatus> rs = new ArrayList<>();
            for (JsonNode r : o.path("recipients")) {
                Set<DsnNotify> notify = EnumSet.noneOf(DsnNotify.class);
                r.path("notify").forEach(n -> notify.add(DsnNotify.valueOf(n.asText())));
                RcptParameters dsn = new RcptParameters(notify, r.hasNonNull("orcpt") ? Optional.of(r.get("orcpt").asText()) : Optional.empty());
                Route route;
                if (r.path("route").asText().equals("local")) {
                    List<String> boxes = new ArrayList<>();
                    r.path("mailboxes").forEach(m -> boxes.add(m.asText()));
                    route = new Route.Local(r.path("domain").asText(), boxes);
                } else {
                    route = new Route.Relay(r.path("domain").asText());
                }
                rs.add(new RecipientStatus(new Recipient(Mailbox.parse(r.path("address").asText()), dsn, route),
                        DeliveryState.valueOf(r.path("state").asText().toUpperCase(java.util.Locale.ROOT)),
                        r.path("detail").asText(), Instant.parse(r.path("updated").asText()),
                        r.hasNonNull("status") ? status(r.get("status").asText()) : Optional.empty(),
                        r.hasNonNull("remote-mta") ? Optional.of(r.get("remote-mta").asText()) : Optional.empty()));
            }
            return new Envelope(o.path("id").asText(), sender.isEmpty() ? Optional.empty() : Optional.of(Mailbox.parse(sender)), p, rs,
                    client, Instant.parse(o.path("arrival").asText()), o.path("size").asLong(), kind(o.path("notice")));
        } catch (RuntimeException e) {
            throw new IOException("malformed envelope: " + e.getMessage(), e);
        }
    }
}
