package dev.mxd.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * What a server announced in its EHLO reply (RFC 5321 §4.1.1.1): the domain it gave on the first
 * line and, for each further line, an extension keyword with its parameters ("SIZE 10240000",
 * "PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN"). Keywords are upper-cased (they are
 * case-insensitive); lines that are not {@code ehlo-keyword *(SP ehlo-param)} are ignored, such as
 * the old "AUTH=LOGIN" some servers still send for broken clients.
 */
public record EhloExtensions(String domain, Map<String, List<String>> keywords) {

    /** RFC 5321 §4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
    private static final Pattern KEYWORD = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]*");

    public EhloExtensions {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        keywords.forEach((k, v) -> copy.put(k.toUpperCase(Locale.ROOT), List.copyOf(v)));
        keywords = Collections.unmodifiableMap(copy);
    }

    /** No extensions: the server only understood HELO (or is not ESMTP at all). */
    public static EhloExtensions none(String domain) {
        return new EhloExtensions(domain, Map.of());
    }

    /** Reads the extensions from a positive EHLO reply. */
    public static EhloExtensions of(SmtpReply ehlo) {
        List<String> lines = ehlo.lines();
        String domain = firstWord(lines.get(0));
        Map<String, List<String>> keywords = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] words = line.strip().split(" +");
            if (words[0].isEmpty() || !KEYWORD.matcher(words[0]).matches()) {
                continue;
            }
            keywords.putIfAbsent(words[0].toUpperCase(Locale.ROOT), List.of(words).subList(1, words.length));
        }
        return new EhloExtensions(domain, keywords);
    }

    /** The first word of a greeting or EHLO line: the domain the server calls itself (RFC 5321 §4.2, §4.1.1.1). */
    public static String firstWord(String text) {
        String s = text.strip();
        int space = s.indexOf(' ');
        return space < 0 ? s : s.substring(0, space);
    }

    public boolean offers(String keyword) {
        return keywords.containsKey(keyword.toUpperCase(Locale.ROOT));
    }

    public List<String> parameters(String keyword) {
        return keywords.getOrDefault(keyword.toUpperCase(Locale.ROOT), List.of());
    }

    /** RFC 3207: the server can switch this connection to TLS. */
    public boolean starttls() {
        return offers("STARTTLS");
    }

    /** RFC 8689 §3: the server takes REQUIRETLS on MAIL FROM and promises to keep its demands onward. */
    public boolean requireTls() {
        return offers("REQUIRETLS");
    }

    /**
     * RFC 1870 §4: the largest message the server takes, in bytes. Empty when SIZE is not announced,
     * announced without a number, or announced as 0 (which means "no fixed limit").
     */
    public OptionalLong maxSize() {
        List<String> p = parameters("SIZE");
        if (p.isEmpty()) {
            return OptionalLong.empty();
        }
        try {
            long n = Long.parseLong(p.get(0));
            return n > 0 ? OptionalLong.of(n) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** "PIPELINING 8BITMIME SIZE 10240000 ..." for people. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        keywords.forEach((k, params) -> {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(k);
            params.forEach(p -> sb.append(' ').append(p));
        });
        return sb.toString();
    }
}
