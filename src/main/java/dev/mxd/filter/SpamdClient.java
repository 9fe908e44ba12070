package dev.mxd.filter;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.config.FiltersConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SpamAssassin's spamd over the SPAMC/1.5 protocol (SpamAssassin's spamd/PROTOCOL): a request line
 * ({@code SYMBOLS SPAMC/1.5}), {@code Content-length} and {@code User} headers, a blank line and the
 * message; spamd answers {@code SPAMD/1.1 0 EX_OK}, a {@code Spam: True ; 1003.7 / 5.0} header and,
 * for SYMBOLS, the names of the rules that hit. SYMBOLS rather than CHECK because the symbols go to
 * the log and the quarantine metadata; PROCESS is not needed since mxd writes its own headers.
 */
public final class SpamdClient implements ScanEngine {

    /** The user whose preferences apply when the configuration names none: {@link FiltersConfig.Spamd#DEFAULT_USER}. */
    public static final String DEFAULT_USER = FiltersConfig.Spamd.DEFAULT_USER;

    private static final int MAX_LINE = 8192;
    private static final int MAX_HEADERS = 64;
    /** A SYMBOLS body is a comma-separated list of rule names. */
    private static final int MAX_BODY = 64 * 1024;
    /** "Spam: True ; 1003.7 / 5.0" (PROTOCOL: "Spam: True|False|Yes|No ; score / threshold"). */
    private static final Pattern SPAM_HEADER = Pattern.compile("(?i)(true|false|yes|no)\\s*;\\s*(-?[0-9.]+)\\s*/\\s*(-?[0-9.]+)");
    private static final Pattern STATUS_LINE = Pattern.compile("SPAMD/(\\d+\\.\\d+)\\s+(\\d+)\\s*(.*)");

    private final EngineAddress address;
    private final Duration timeout;
    private final String user;
    private final long maxSize;

    public SpamdClient(EngineAddress address, Duration timeout, String user) {
        this(address, timeout, user, Long.MAX_VALUE);
    }

    /** As above; a message over {@code maxSize} octets is not sent ({@link EngineResult.TooLarge}). */
    public SpamdClient(EngineAddress address, Duration timeout, String user, long maxSize) {
        if (user.isBlank() || user.chars().anyMatch(ch -> ch < 0x21 || ch > 0x7e)) {
            throw new IllegalArgumentException("spamd user '" + user + "' must be a non-empty name without spaces");
        }
        this.address = address;
        this.timeout = timeout;
        this.user = user;
        this.maxSize = maxSize;
    }

    @Override
    public Engine engine() {
        return Engine.SPAMD;
    }

    @Override
    public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
        long size = message.size();
        if (size > maxSize) { // not sent: as spamc passes a message over its -s size on unprocessed
            return new EngineResult.TooLarge(Engine.SPAMD, size, "over filters.spamd.max-size " + maxSize);
        }
        EngineConnection c;
        try {
            c = EngineConnection.open(address, timeout);
        } catch (EngineConnection.ConnectFailure e) {
            return EngineConnection.connectFailure(Engine.SPAMD, address, e);
        }
        try (c; InputStream text = message.open()) {
            IOException sendFailure = null;
            try {
                OutputStream out = c.out();
                out.write(request(size, user));
                copy(text, out, c);
                out.flush();
                c.shutdownOutput();
            } catch (SocketWriteFailure e) {
                sendFailure = e.cause;
            }
            try {
                EngineResult result = parseResponse(c.in());
                if (sendFailure != null && result instanceof EngineResult.Scored scored && !scored.engineSaysSpam()) {
                    // a "not spam" for a message it stopped reading judged part of it: on-error decides
                    return EngineConnection.failure(Engine.SPAMD, address, c, timeout, "sending the message (it answered before"
                            + " reading the whole message)", sendFailure);
                }
                return result;
            } catch (IOException e) {
                return EngineConnection.failure(Engine.SPAMD, address, c, timeout,
                        sendFailure != null ? "sending the message" : "reading the reply", sendFailure != null ? sendFailure : e);
            }
        } catch (IOException e) {
            return EngineResult.Unavailable.messageUnreadable(Engine.SPAMD, e);
        }
    }

    /**
     * {@code PING SPAMC/1.5} and an empty header block (protocol 1.5 expects headers even here; spamd's
     * own reading of it): empty when spamd answers {@code SPAMD/1.5 0 PONG}, else why not.
     */
    @Override
    public Optional<EngineResult.Unavailable> ping() {
        return EngineConnection.ping(Engine.SPAMD, address, timeout, "PING SPAMC/1.5\r\n\r\n", '\n', reply -> {
            Matcher m = STATUS_LINE.matcher(reply);
            return m.matches() && m.group(2).equals("0") && m.group(3).strip().equals("PONG");
        }, "'SPAMD/1.5 0 PONG'");
    }

    /** The request head: SPAMC/1.5 wants Content-length to be the exact number of message bytes. */
    static byte[] request(long size, String user) {
        return ("SYMBOLS SPAMC/1.5\r\nContent-length: " + size + "\r\nUser: " + user + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static final class SocketWriteFailure extends IOException {
        final IOException cause;

        SocketWriteFailure(IOException cause) {
            super(cause);
            this.cause = cause;
        }
    }

    private static void copy(InputStream text, OutputStream out, EngineConnection c) throws IOException {
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = text.read(buf)) > 0; ) {
            try {
                out.write(buf, 0, n);
            } catch (IOException e) {
                throw new SocketWriteFailure(e);
            }
        }
    }

    /** spamd's response, read from the wire with bounded line, header and body sizes. */
    static EngineResult parseResponse(InputStream in) throws IOException {
        String status = line(in);
        Matcher sm = STATUS_LINE.matcher(status);
        if (!sm.matches()) {
            return protocolError("status line '" + ClamdClient.printable(status) + "', expected 'SPAMD/1.1 0 EX_OK'");
        }
        if (!sm.group(2).equals("0")) {
            return new EngineResult.Unavailable(Engine.SPAMD, EngineResult.Reason.ENGINE_ERROR,
                    "spamd answered '" + ClamdClient.printable(status) + "'");
        }
        Optional<String> spam = Optional.empty();
        long contentLength = -1;
        for (int i = 0; ; i++) {
            if (i > MAX_HEADERS) {
                return protocolError("more than " + MAX_HEADERS + " response headers");
            }
            String h = line(in);
            if (h.isEmpty()) {
                break;
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                return protocolError("header line '" + ClamdClient.printable(h) + "' has no ':'");
            }
            String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).strip();
            if (name.equals("spam")) {
                spam = Optional.of(value);
            } else if (name.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    return protocolError("Content-length '" + ClamdClient.printable(value) + "' is not a number");
                }
            }
        }
        if (spam.isEmpty()) {
            return protocolError("no 'Spam:' header in the response");
        }
        Matcher m = SPAM_HEADER.matcher(spam.get());
        if (!m.matches()) {
            return protocolError("'Spam: " + ClamdClient.printable(spam.get()) + "', expected 'Spam: True ; 1003.7 / 5.0'");
        }
        boolean isSpam = m.group(1).equalsIgnoreCase("true") || m.group(1).equalsIgnoreCase("yes");
        double score;
        double threshold;
        try {
            score = Double.parseDouble(m.group(2));
            threshold = Double.parseDouble(m.group(3));
        } catch (NumberFormatException e) {
            return protocolError("'Spam: " + ClamdClient.printable(spam.get()) + "' has a score that is not a number");
        }
        if (contentLength > MAX_BODY) {
            return protocolError("symbol list of " + contentLength + " bytes is over " + MAX_BODY);
        }
        byte[] body = contentLength >= 0 ? in.readNBytes((int) contentLength) : in.readNBytes(MAX_BODY);
        List<String> symbols = new ArrayList<>();
        for (String s : new String(body, StandardCharsets.US_ASCII).split(",")) {
            if (!s.isBlank()) {
                symbols.add(s.strip());
            }
        }
        return new EngineResult.Scored(Engine.SPAMD, score, threshold, isSpam, symbols, Optional.empty());
    }

    /** For unit tests: a response given as bytes. */
    static EngineResult parseResponse(byte[] response) {
        try {
            return parseResponse(new ByteArrayInputStream(response));
        } catch (IOException e) {
            return protocolError(e.getMessage());
        }
    }

    /** One CRLF (or bare LF) line, at most MAX_LINE bytes; end of input in the middle is an error. */
    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= MAX_LINE; i++) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed in the middle of the response"
                        + (sb.length() > 0 ? " after '" + ClamdClient.printable(sb.toString()) + "'" : ""));
            }
            if (b == '\n') {
                int end = sb.length();
                return end > 0 && sb.charAt(end - 1) == '\r' ? sb.substring(0, end - 1) : sb.toString();
            }
            sb.append((char) b);
        }
        throw new IOException("response line longer than " + MAX_LINE + " bytes");
    }

    private static EngineResult.Unavailable protocolError(String what) {
        return new EngineResult.Unavailable(Engine.SPAMD, EngineResult.Reason.PROTOCOL_ERROR, "unreadable spamd response: " + what);
    }


    @Override
    public String toString() {
        return "spamd at " + address;
    }
}
