package dev.mxd.filter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One quarantined message's metadata (its JSON file, and {@code mxd quarantine list --json}):
 * enough to show it to an operator and to deliver it to its original recipients if released.
 *
 * @param verdicts one line per engine result ({@link EngineResult#summary()}) that led here
 */
public record QuarantineEntry(String id, Instant arrival, String queueId, String sender, List<String> recipients,
                              String reason, long size, List<String> verdicts) {

    public QuarantineEntry {
        recipients = List.copyOf(recipients);
        verdicts = List.copyOf(verdicts);
    }

    /** The metadata as stored: {"id", "arrival", "queue_id", "sender", "recipients", "reason", "size", "verdicts"}. */
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
        return o;
    }

    /** Reads stored metadata; a file that does not have every field is reported as damaged. */
    public static QuarantineEntry fromJson(JsonNode o) throws IOException {
        try {
            List<String> recipients = new ArrayList<>();
            o.get("recipients").forEach(n -> recipients.add(n.asText()));
            List<String> verdicts = new ArrayList<>();
            o.get("verdicts").forEach(n -> verdicts.add(n.asText()));
            return new QuarantineEntry(o.get("id").asText(), Instant.parse(o.get("arrival").asText()), o.get("queue_id").asText(),
                    o.get("sender").asText(), recipients, o.get("reason").asText(), o.get("size").asLong(), verdicts);
        } catch (RuntimeException e) {
            throw new IOException("quarantine metadata " + o.path("id").asText("(no id)") + " is damaged: " + e, e);
        }
    }
}
