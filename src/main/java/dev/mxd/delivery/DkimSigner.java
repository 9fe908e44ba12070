package dev.mxd.delivery;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Signs mail mxd writes itself with a DKIM signature (RFC 6376): {@code rsa-sha256},
 * {@code c=relaxed/relaxed}, a {@code t=} timestamp, no {@code l=}. The {@code DKIM-Signature}
 * field is put in front of the message's header. Used for TLS-RPT report mail, which RFC 8460 §3
 * wants signed by the reporting domain.
 *
 * @param domain   the signing domain, {@code d=}
 * @param selector the selector, {@code s=}: the public key is at {@code SELECTOR._domainkey.DOMAIN}
 * @param key      the RSA private key
 * @param signed   the header field names to sign, in this order, where the message has them
 */
public record DkimSigner(String domain, String selector, PrivateKey key, List<String> signed) {

    /** The fields a TLS-RPT report mail's signature covers. */
    public static final List<String> REPORT_FIELDS = List.of("From", "To", "Subject", "Date", "Message-ID",
            "MIME-Version", "Content-Type", "TLS-Report-Domain", "TLS-Report-Submitter");

    public DkimSigner {
        Objects.requireNonNull(domain);
        Objects.requireNonNull(selector);
        if (!"RSA".equals(key.getAlgorithm())) {
            throw new IllegalArgumentException("DKIM signing here needs an RSA key, not " + key.getAlgorithm());
        }
        signed = List.copyOf(signed);
    }

    /** A signer of TLS-RPT report mail ({@link #REPORT_FIELDS}). */
    public static DkimSigner forReports(String domain, String selector, PrivateKey key) {
        return new DkimSigner(domain, selector, key, REPORT_FIELDS);
    }

    /** One header field as it stands: its name and everything after the colon, folds included. */
    record Field(String name, String value) {}

    /** The message (CRLF lines) with a {@code DKIM-Signature} field in front, signed at {@code now}. */
    public byte[] sign(byte[] message, Instant now) {
        String text = new String(message, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        String head = end < 0 ? text : text.substring(0, end + 2);
        byte[] body = end < 0 ? new byte[0] : text.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
        List<Field> fields = fields(head);
        List<Field> chosen = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String name : signed) {
            // RFC 6376 §5.4.2: one instance per listing, taken from the bottom.
            for (int i = fields.size() - 1; i >= 0; i--) {
                if (fields.get(i).name().strip().equalsIgnoreCase(name)) {
                    chosen.add(fields.get(i));
                    names.add(name);
                    break;
                }
            }
        }
        try {
            String bh = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(relaxedBody(body)));
            String h = String.join(":", names);
            String value = " v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain + "; s=" + selector
                    + ";\r\n\tt=" + now.getEpochSecond() + "; h=" + h + ";\r\n\tbh=" + bh + ";\r\n\tb=";
            StringBuilder input = new StringBuilder();
            for (Field f : chosen) {
                input.append(relaxedHeader(f.name(), f.value())).append("\r\n");
            }
            // §3.7: the signature field itself last, b= empty, without its CRLF.
            input.append(relaxedHeader("DKIM-Signature", value));
            Signature rsa = Signature.getInstance("SHA256withRSA");
            rsa.initSign(key);
            rsa.update(input.toString().getBytes(StandardCharsets.ISO_8859_1));
            String b = Base64.getEncoder().encodeToString(rsa.sign());
            ByteArrayOutputStream out = new ByteArrayOutputStream(message.length + 600);
            out.writeBytes(("DKIM-Signature:" + value + b + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(message);
            return out.toByteArray();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("DKIM signing failed: " + e.getMessage(), e);
        }
    }

    /** The header's fields, in order; a line starting with space or tab continues the field before it. */
    static List<Field> fields(String head) {
        List<Field> fields = new ArrayList<>();
        StringBuilder current = null;
        for (String line : head.split("\r\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && current != null) {
                current.append("\r\n").append(line);
            } else {
                if (current != null) {
                    fields.add(field(current.toString()));
                }
                current = new StringBuilder(line);
            }
        }
        if (current != null) {
            fields.add(field(current.toString()));
        }
        return fields;
    }

    private static Field field(String raw) {
        int colon = raw.indexOf(':');
        return colon < 0 ? new Field(raw, "") : new Field(raw.substring(0, colon), raw.substring(colon + 1));
    }

    /**
     * RFC 6376 §3.4.2, without the CRLF: the name in lower case without trailing blanks, the value
     * unfolded, runs of blanks made one space, blanks at its start and end removed.
     */
    static String relaxedHeader(String name, String value) {
        String v = value.replace("\r\n", "").replaceAll("[ \t]+", " ").strip();
        return name.toLowerCase(Locale.ROOT).replaceAll("[ \t]+$", "") + ":" + v;
    }

    /**
     * RFC 6376 §3.4.4: per line, blanks at the end removed and runs of blanks made one space; empty
     * lines at the end removed; a body that is not empty ends in CRLF.
     */
    static byte[] relaxedBody(byte[] body) {
        String text = new String(body, StandardCharsets.ISO_8859_1);
        List<String> lines = new ArrayList<>(List.of(text.split("\r\n", -1)));
        if (text.endsWith("\r\n")) {
            lines.remove(lines.size() - 1); // the split's empty piece after the last CRLF
        }
        StringBuilder out = new StringBuilder();
        int last = -1;
        List<String> canon = new ArrayList<>();
        for (String line : lines) {
            String c = line.replaceAll("[ \t]+", " ").replaceAll(" $", "");
            canon.add(c);
            if (!c.isEmpty()) {
                last = canon.size() - 1;
            }
        }
        for (int i = 0; i <= last; i++) {
            out.append(canon.get(i)).append("\r\n");
        }
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }
}
