package dev.mxd.smtp.client;

import java.io.IOException;
import java.io.InputStream;
import dev.mxd.smtp.Mailbox;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a message received with SMTPUTF8, or with non-ASCII addresses, becomes at a server that
 * does not offer SMTPUTF8 (RFC 6531 §3.2, §3.4). As with Postfix's autodetection, the
 * SMTPUTF8 parameter the client gave says only that the message <em>may</em> need it; it needs it
 * when its sender or a header field is not ASCII. Such a message cannot go there at all. Otherwise it
 * goes without the parameter, and only the recipients whose address cannot be written in ASCII
 * are left out (RFC 6531 §3.2 forbids sending those, not their co-recipients). A domain given as
 * U-labels is written as its A-labels (RFC 6531 §3.2 lets the client do that); a non-ASCII local
 * part has no ASCII form.
 */
sealed interface AsciiTransaction {

    /** The message itself needs SMTPUTF8: {@code reason} says which part, for the DSN. */
    record Refused(String reason) implements AsciiTransaction {}

    /**
     * The message can go without SMTPUTF8.
     *
     * @param envelope the transaction to run: ASCII sender and recipients, no SMTPUTF8 parameter
     * @param sent     for each recipient of {@code envelope}, its index in the original envelope
     * @param left     the original recipients that cannot be sent here, by index, with why
     */
    record Downgraded(OutboundEnvelope envelope, List<Integer> sent, List<LeftOut> left) implements AsciiTransaction {}

    /** An original recipient whose address has no ASCII form. */
    record LeftOut(int index, String reason) {}

    /**
     * Decides for {@code e}, which {@link OutboundEnvelope#needsSmtputf8() asks for} SMTPUTF8, going to a
     * server without it. Reads the spooled header section (never the body).
     */
    static AsciiTransaction of(OutboundEnvelope e) throws IOException {
        Optional<String> sender = ascii(e.sender());
        if (sender.isEmpty()) {
            return new Refused("the sender address <" + e.sender() + "> has a non-ASCII local part");
        }
        List<OutboundRecipient> ascii = new ArrayList<>();
        List<Integer> sent = new ArrayList<>();
        List<LeftOut> left = new ArrayList<>();
        List<OutboundRecipient> rcpts = e.recipients();
        for (int i = 0; i < rcpts.size(); i++) {
            OutboundRecipient r = rcpts.get(i);
            Optional<String> address = ascii(r.address());
            if (address.isPresent()) {
                ascii.add(new OutboundRecipient(address.get(), r.notifyOn(), r.orcpt(), r.orcptType()));
                sent.add(i);
            } else {
                left.add(new LeftOut(i, "the recipient address <" + r.address() + "> "
                        + (localPart(r.address()).chars().anyMatch(c -> c > 0x7e)
                                ? "has a non-ASCII local part"
                                : "has a domain with no A-label form that names the same domain")));
            }
        }
        if (sent.isEmpty()) {
            // Each recipient's own address is why (the trace field naming it "for <...>" would be found first otherwise)
            return new Downgraded(e, sent, left);
        }
        Optional<String> header = nonAsciiHeaderField(e.content());
        if (header.isPresent()) {
            return new Refused("the " + header.get() + " header field is not ASCII (RFC 6532 header)");
        }
        OutboundEnvelope downgraded = new OutboundEnvelope(sender.get(), ascii, e.eightBit(), false, e.ret(), e.envid(), e.content(), e.requireTls());
        return new Downgraded(downgraded, sent, left);
    }

    /**
     * The address in ASCII: as it is, or with its U-label domain as A-labels ({@link Mailbox#asciiDomain});
     * empty when the local part is not ASCII or the domain has no faithful A-label form.
     */
    static Optional<String> ascii(String address) {
        int at = address.lastIndexOf('@');
        if (at < 0 || localPart(address).chars().anyMatch(c -> c > 0x7e)) {
            return address.chars().allMatch(c -> c <= 0x7e) ? Optional.of(address) : Optional.empty();
        }
        return Mailbox.asciiDomain(address.substring(at + 1)).map(d -> address.substring(0, at + 1) + d);
    }

    private static String localPart(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? address : address.substring(0, at);
    }

    /**
     * The name of the first header field with a byte past ASCII, reading the header section only: up
     * to the first empty line (RFC 5322 §2.1), or the end of a message that has no body. 8-bit bytes
     * in the body are 8BITMIME's business (RFC 6152), not SMTPUTF8's. Memory is bounded by one block.
     */
    static Optional<String> nonAsciiHeaderField(MessageContent content) throws IOException {
        byte[] block = new byte[8192];
        StringBuilder name = new StringBuilder(); // the current field's name, up to its colon
        boolean lineStart = true;
        boolean inName = true;
        boolean blankSoFar = true; // the current line is empty so far (a lone CR allowed)
        String field = "";
        try (InputStream in = content.open()) {
            for (int n; (n = in.read(block)) >= 0; ) {
                for (int i = 0; i < n; i++) {
                    int b = block[i] & 0xff;
                    if (b == '\n') {
                        if (blankSoFar) {
                            return Optional.empty(); // the empty line that ends the header section
                        }
                        lineStart = true;
                        blankSoFar = true;
                        continue;
                    }
                    if (lineStart) {
                        lineStart = false;
                        if (b != ' ' && b != '\t') { // not a folded continuation: a new field starts
                            name.setLength(0);
                            inName = true;
                        }
                    }
                    if (b != '\r') {
                        blankSoFar = false;
                    }
                    if (inName) {
                        if (b == ':') {
                            inName = false;
                            field = name.toString();
                        } else if (name.length() < 80) {
                            name.append((char) b);
                        }
                    }
                    if (b > 0x7f) {
                        return Optional.of(inName || field.isEmpty() ? "\"" + printable(name) + "\"" : field);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static String printable(CharSequence s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(c >= 0x20 && c < 0x7f ? (char) c : '?'));
        return b.toString();
    }
}
