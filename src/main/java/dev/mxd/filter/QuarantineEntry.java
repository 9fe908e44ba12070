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
                              String reason, long size, List<String> verdicts, Optional<Received> received) {

    /**
     * The MAIL FROM parameters a release repeats: SMTPUTF8 (RFC 6531 §3.4: a message that needs it
     * goes on only to hops that offer it), BODY=8BITMIME (RFC 6152) and REQUIRETLS (RFC 8689: a release
     * must not let the message travel with less protection than its sender asked for).
     */
    public record Received(boolean smtputf8, boolean eightBitMime, boolean requireTls) {
        public Received(boolean smtputf8, boolean eightBitMime) {
            this(smtputf8, eightBitMime, false);
        }
    }

    public QuarantineEntry {
        recipients = List.copyOf(recipients);
        verdicts = List.copyOf(verdicts);
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
        });
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
                        o.path("requiretls").asBoolean(false)));
            }
            return new QuarantineEntry(o.get("id").asText(), Instant.parse(o.get("arrival").asText()), o.get("queue_id").asText(),
                    o.get("sender").asText(), recipients, o.get("reason").asText(), o.get("size").asLong(), verdicts, received);
        } catch (RuntimeException e) {
            throw new IOException("quarantine metadata " + o.path("id").asText("(no id)") + " is damaged: " + e, e);
        }
    }
}
