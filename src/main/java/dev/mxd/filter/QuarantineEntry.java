package dev.mxd.filter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One quarantined message's metadata (its JSON file, and {@code mxd quarantine list --json}):
 * enough to show it to an operator and to deliver it to its original recipients if released.
 *
 * @param verdicts one line per engine result ({@link EngineResult#summary()}) that led here
 * @param received the MAIL parameters it came with; empty for entries stored before mxd kept them
 */
public record QuarantineEntry(String id, Instant arrival, String queueId, String sender, List<String> recipients,
                              String reason, long size, List<String> verdicts, Optional<Received> received,
                              List<dev.mxd.smtp.RcptParameters> recipientDsn) {

    /**
     * The MAIL FROM parameters a release repeats: SMTPUTF8 (RFC 6531 §3.4: a message that needs it
     * goes on only to hops that offer it), BODY=8BITMIME (RFC 6152) and REQUIRETLS (RFC 8689: a release
     * must not let the message travel with less protection than its sender asked for).
     */
    public record Received(boolean smtputf8, boolean eightBitMime, boolean requireTls, Optional<dev.mxd.smtp.DsnReturn> ret,
                           Optional<String> envid) {
        public Received(boolean smtputf8, boolean eightBitMime, boolean requireTls) {
            this(smtputf8, eightBitMime, requireTls, Optional.empty(), Optional.empty());
        }

        public Received(boolean smtputf8, boolean eightBitMime) {
            this(smtputf8, eightBitMime, false);
        }
    }

    /**
     * @param recipientDsn each recipient's NOTIFY and ORCPT (RFC 3461), in the order of {@code recipients}; empty for
     *                     entries stored before mxd kept them (a release then asks for the defaults)
     */
    public QuarantineEntry {
        recipients = List.copyOf(recipients);
        verdicts = List.copyOf(verdicts);
        recipientDsn = List.copyOf(recipientDsn);
        if (!recipientDsn.isEmpty() && recipientDsn.size() != recipients.size()) {
            throw new IllegalArgumentException(recipientDsn.size() + " DSN parameter sets for " + recipients.size() + " recipients");
        }
    }

    public QuarantineEntry(String id, Instant arrival, String queueId, String sender, List<String> recipients,
                           String reason, long size, List<String> verdicts, Optional<Received> received) {
        this(id, arrival, queueId, sender, recipients, reason, size, verdicts, received, List.of());
    }

    /** The DSN parameters of the recipient at {@code index}: what it came with, or none for an older entry. */
    public dev.mxd.smtp.RcptParameters dsnOf(int index) {
        return recipientDsn.isEmpty() ? dev.mxd.smtp.RcptParameters.NONE : recipientDsn.get(index);
    }

    /** An entry whose MAIL parameters are not known. */
    public QuarantineEntry(String id, Instant arrival, String queueId, String sender, List<String> recipients,
                           String reason, long size, List<String> verdicts) {
        this(id, arrival, queueId, sender, recipients, reason, size, verdicts, Optional.empty());
    }

    /**
     * The metadata as stored: {"id", "arrival", "queue_id", "sender", "recipients", "reason", "size",
     * "verdicts"}, and "smtputf8" (true/false) and "body" ("8BITMIME" or "7BIT") when they are known,
     * with "requiretls": true for a message received with REQUIRETLS.
     */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("arrival", arrival.toString());
        o.put("queue_id", queueId);
        o.put("sender", sender);
        recipients.forEach(o.putArray("recipients")::add);
        o.put("reason", reason);
        o.put("size", size);
        verdicts.forEach(o.putArray("verdicts")::add);
        received.ifPresent(r -> {
            o.put("smtputf8", r.smtputf8());
            o.put("body", r.eightBitMime() ? "8BITMIME" : "7BIT");
            if (r.requireTls()) {
                o.put("requiretls", true);
            }
            r.ret().ifPresent(ret -> o.put("ret", ret.name()));
            r.envid().ifPresent(envid -> o.put("envid", envid));
        });
        if (recipientDsn.stream().anyMatch(d -> !d.equals(dev.mxd.smtp.RcptParameters.NONE))) {
            var dsn = o.putArray("recipient_dsn");
            for (dev.mxd.smtp.RcptParameters d : recipientDsn) {
                ObjectNode one = dsn.addObject();
                d.notifyOn().stream().sorted().forEach(n -> one.withArray("notify").add(n.name()));
                d.orcpt().ifPresent(orcpt -> one.put("orcpt", orcpt));
            }
        }
        return o;
    }

    /** Reads stored metadata; a file that does not have every field is reported as damaged. */
    public static QuarantineEntry fromJson(JsonNode o) throws IOException {
        try {
            List<String> recipients = new ArrayList<>();
            o.get("recipients").forEach(n -> recipients.add(n.asText()));
            List<String> verdicts = new ArrayList<>();
            o.get("verdicts").forEach(n -> verdicts.add(n.asText()));
            Optional<Received> received = Optional.empty();
            if (o.has("smtputf8") || o.has("body")) {
                String body = o.path("body").asText("7BIT");
                if (!body.equals("8BITMIME") && !body.equals("7BIT")) {
                    throw new IllegalArgumentException("body is \"" + body + "\", not 8BITMIME or 7BIT");
                }
                received = Optional.of(new Received(o.path("smtputf8").asBoolean(false), body.equals("8BITMIME"),
                        o.path("requiretls").asBoolean(false),
                        o.hasNonNull("ret") ? Optional.of(dev.mxd.smtp.DsnReturn.valueOf(o.get("ret").asText())) : Optional.empty(),
                        o.hasNonNull("envid") ? Optional.of(o.get("envid").asText()) : Optional.empty()));
            }
            List<dev.mxd.smtp.RcptParameters> dsn = new ArrayList<>();
            o.path("recipient_dsn").forEach(d -> {
                java.util.Set<dev.mxd.smtp.DsnNotify> notify = java.util.EnumSet.noneOf(dev.mxd.smtp.DsnNotify.class);
                d.path("notify").forEach(n -> notify.add(dev.mxd.smtp.DsnNotify.valueOf(n.asText())));
                dsn.add(new dev.mxd.smtp.RcptParameters(notify,
                        d.hasNonNull("orcpt") ? Optional.of(d.get("orcpt").asText()) : Optional.empty()));
            });
            return new QuarantineEntry(o.get("id").asText(), Instant.parse(o.get("arrival").asText()), o.get("queue_id").asText(),
                    o.get("sender").asText(), recipients, o.get("reason").asText(), o.get("size").asLong(), verdicts, received, dsn);
        } catch (RuntimeException e) {
            throw new IOException("quarantine metadata " + o.path("id").asText("(no id)") + " is damaged: " + e, e);
        }
    }
}
