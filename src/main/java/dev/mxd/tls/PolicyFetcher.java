package dev.mxd.tls;

import dev.mxd.smtp.AddressText;
import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnsClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Fetches a domain's MTA-STS policy (RFC 8461 §3.3): {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt},
 * the host resolved through mxd's own DNS client, over TLS with SNI and a certificate valid for the host
 * under {@link WebPki}; a 200 answer only (§3.3), no redirects, {@code text/plain} when a media type is
 * named (§3.2), at most {@link #MAX_BODY} bytes. The connect timeout bounds each address; the whole fetch
 * (every address, the handshake and the body) ends at {@code total}: a timer closes the socket then, so a
 * server that trickles bytes cannot keep it alive. An address that fails for a reason other than its
 * certificate (refused, reset, closed in the handshake) is followed by the next one.
 */
public final class PolicyFetcher {

    /** The largest policy body read (§3.3 leaves the limit to the sender; 64 KB is generous for a few lines). */
    public static final int MAX_BODY = 64 * 1024;

    /** Closes the sockets of fetches whose time is up. */
    private static final ScheduledThreadPoolExecutor DEADLINES = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "mta-sts-fetch-deadline");
        t.setDaemon(true);
        return t;
    });

    static {
        DEADLINES.setRemoveOnCancelPolicy(true); // a fetch that ended in time takes its deadline with it
    }

    private final DnsClient dns;
    private final WebPki pki;
    private final int port;
    private final Duration connectTimeout;
    private final Duration total;

    /**
     * @param port           443 (RFC 8461 §3.3); another only in tests of this class
     * @param connectTimeout per address
     * @param total          for the whole fetch
     */
    public PolicyFetcher(DnsClient dns, WebPki pki, int port, Duration connectTimeout, Duration total) {
        this.dns = dns;
        this.pki = pki;
        this.port = port;
        this.connectTimeout = connectTimeout;
        this.total = total;
    }

    /** A fetch that did not give a policy body; {@code resultType} is RFC 8460's ("sts-policy-fetch-error", "sts-webpki-invalid"). */
    public static final class FetchFailed extends Exception {
        private final String resultType;

        FetchFailed(String resultType, String message, Throwable cause) {
            super(message, cause);
            this.resultType = resultType;
        }

        public String resultType() {
            return resultType;
        }
    }

    /** The policy body of {@code domain}, as text. */
    public String fetch(String domain) throws FetchFailed {
        try {
            return fetchAny(domain);
        } catch (RuntimeException e) {
            throw new FetchFailed("sts-policy-fetch-error", "fetching the policy of " + domain + " failed: " + e, e);
        }
    }

    private String fetchAny(String domain) throws FetchFailed {
        String host = "mta-sts." + domain;
        long deadline = System.nanoTime() + total.toNanos();
        List<InetAddress> addresses = addresses(host);
        FetchFailed last = null;
        for (InetAddress address : addresses) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new FetchFailed("sts-policy-fetch-error", "fetching https://" + host + "/.well-known/mta-sts.txt took longer than "
                        + total.toSeconds() + "s", last);
            }
            try {
                return fetchFrom(host, address, deadline);
            } catch (FetchFailed e) {
                last = e;
                if (!e.resultType().equals("sts-policy-fetch-error")) {
                    throw e; // a certificate problem is the same on every address
                }
            }
        }
        throw last;
    }

    private List<InetAddress> addresses(String host) throws FetchFailed {
        Name name;
        try {
            name = Name.fromString(host, Name.root);
        } catch (TextParseException e) {
            throw new FetchFailed("sts-policy-fetch-error", host + " is not a DNS name", e);
        }
        List<InetAddress> out = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (int type : new int[] {Type.A, Type.AAAA}) {
            DnsAnswer answer = dns.query(name, type);
            if (answer instanceof DnsAnswer.Found f) {
                for (Record r : f.records()) {
                    if (r instanceof ARecord a) {
                        out.add(a.getAddress());
                    } else if (r instanceof AAAARecord a) {
                        out.add(a.getAddress());
                    }
                }
            } else if (answer instanceof DnsAnswer.Failed f) {
                problems.add(Type.string(type) + ": " + f.reason());
            }
        }
        if (out.isEmpty()) {
            throw new FetchFailed("sts-policy-fetch-error", host + " has no address" + (problems.isEmpty() ? "" : " (" + String.join("; ", problems) + ")"), null);
        }
        return out;
    }

    private String fetchFrom(String host, InetAddress address, long deadline) throws FetchFailed {
        String where = "https://" + host + "/.well-known/mta-sts.txt at " + AddressText.of(address);
        SNIHostName sni;
        try {
            sni = new SNIHostName(host);
        } catch (IllegalArgumentException e) {
            // a name MailDomain allows (an underscore) that TLS cannot carry: no certificate can match it either
            throw new FetchFailed("sts-policy-fetch-error", where + ": " + host + " cannot be sent as a TLS server name", e);
        }
        AtomicBoolean timedOut = new AtomicBoolean();
        try (Socket plain = new Socket()) {
            ScheduledFuture<?> timer = DEADLINES.schedule(() -> {
                timedOut.set(true);
                try {
                    plain.close();
                } catch (IOException e) {
                    // closing is all we want
                }
            }, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            try {
                return exchange(host, sni, plain, address, deadline, where);
            } finally {
                timer.cancel(false);
            }
        } catch (IOException e) {
            if (timedOut.get()) {
                throw new FetchFailed("sts-policy-fetch-error", where + ": took longer than " + total.toMillis() + " ms", e);
            }
            throw new FetchFailed("sts-policy-fetch-error", where + ": " + e, e);
        }
    }

    private String exchange(String host, SNIHostName sni, Socket plain, InetAddress address, long deadline, String where)
            throws IOException, FetchFailed {
        int connect = (int) Math.max(1, Math.min(connectTimeout.toMillis(), (deadline - System.nanoTime()) / 1_000_000));
        plain.connect(new InetSocketAddress(address, port), connect);
        plain.setSoTimeout(remaining(deadline));
        SSLSocket tls = (SSLSocket) pki.context().getSocketFactory().createSocket(plain, host, port, true);
        SSLParameters params = tls.getSSLParameters();
        params.setServerNames(List.of(sni));
        params.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(params);
        try {
            tls.startHandshake();
        } catch (javax.net.ssl.SSLHandshakeException e) {
            if (certificateProblem(e)) {
                throw new FetchFailed("sts-webpki-invalid", where + ": TLS handshake failed: " + e.getMessage(), e);
            }
            throw new FetchFailed("sts-policy-fetch-error", where + ": TLS handshake failed: " + e.getMessage(), e);
        }
        OutputStream out = tls.getOutputStream();
        out.write(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: mxd\r\nAccept: text/plain\r\n"
                + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return read(tls, deadline, where);
    }

    /** Whether a handshake failed on the server's certificate (RFC 8460's sts-webpki-invalid), not on the connection. */
    private static boolean certificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof java.security.cert.CertPathBuilderException) {
                return true;
            }
        }
        return false;
    }

    private static int remaining(long deadline) throws IOException {
        long ms = (deadline - System.nanoTime()) / 1_000_000;
        if (ms <= 0) {
            throw new java.net.SocketTimeoutException("the fetch's time is up");
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    /** Reads one HTTP/1.1 response: status line, headers, then a Content-Length, chunked or until-close body. */
    private static String read(Socket socket, long deadline, String where) throws IOException, FetchFailed {
        InputStream in = socket.getInputStream();
        String status = line(in, socket, deadline);
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new FetchFailed("sts-policy-fetch-error", where + ": not an HTTP response: '" + status + "'", null);
        }
        if (!parts[1].equals("200")) {
            // §3.3: redirects are not followed; "200 OK" is the only answer that gives a policy
            throw new FetchFailed("sts-policy-fetch-error", where + ": HTTP " + status.substring(parts[0].length()).strip(), null);
        }
        long length = -1;
        boolean chunked = false;
        for (int i = 0; ; i++) {
            String h = line(in, socket, deadline);
            if (h.isEmpty()) {
                break;
            }
            if (i > 100) {
                throw new FetchFailed("sts-policy-fetch-error", where + ": more than 100 header lines", null);
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).strip();
            if (name.equals("content-length")) {
                try {
                    length = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": Content-Length '" + value + "'", null);
                }
                if (length > MAX_BODY) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": the policy is " + length + " bytes, more than " + MAX_BODY, null);
                }
            } else if (name.equals("content-type")) {
                String media = value.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
                if (!media.equals("text/plain")) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": Content-Type '" + value + "', not text/plain (RFC 8461 §3.2)", null);
                }
            } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
                chunked = true;
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            while (true) {
                String size = line(in, socket, deadline);
                int semi = size.indexOf(';');
                String hex = (semi >= 0 ? size.substring(0, semi) : size).strip();
                if (!hex.matches("[0-9A-Fa-f]{1,16}")) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": bad chunk size '" + (size.length() > 40 ? size.substring(0, 40) + "..." : size) + "'", null);
                }
                // more than 8 hex digits is more than 4 GB: too large whatever it says, and never parsed into an int
                long n = hex.length() > 8 ? Long.MAX_VALUE : Long.parseLong(hex, 16);
                if (n == 0) {
                    break;
                }
                if (n > MAX_BODY - body.size()) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": the policy is more than " + MAX_BODY + " bytes", null);
                }
                copy(in, socket, deadline, body, (int) n, where);
                line(in, socket, deadline);
            }
        } else if (length >= 0) {
            copy(in, socket, deadline, body, (int) length, where);
        } else {
            byte[] buf = new byte[4096];
            while (true) {
                socket.setSoTimeout(remaining(deadline));
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                body.write(buf, 0, n);
                if (body.size() > MAX_BODY) {
                    throw new FetchFailed("sts-policy-fetch-error", where + ": the policy is more than " + MAX_BODY + " bytes", null);
                }
            }
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    private static void copy(InputStream in, Socket socket, long deadline, ByteArrayOutputStream to, int n, String where)
            throws IOException, FetchFailed {
        byte[] buf = new byte[4096];
        int left = n;
        while (left > 0) {
            socket.setSoTimeout(remaining(deadline));
            int r = in.read(buf, 0, Math.min(buf.length, left));
            if (r < 0) {
                throw new FetchFailed("sts-policy-fetch-error", where + ": the body ended after " + (n - left) + " of " + n + " bytes", null);
            }
            to.write(buf, 0, r);
            left -= r;
        }
    }

    /** One CRLF- (or LF-) ended line of at most 8 KB, without its end. */
    private static String line(InputStream in, Socket socket, long deadline) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            socket.setSoTimeout(remaining(deadline));
            int c = in.read();
            if (c < 0) {
                throw new java.io.EOFException("the connection closed in the middle of the response head");
            }
            if (c == '\n') {
                int end = b.length();
                return end > 0 && b.charAt(end - 1) == '\r' ? b.substring(0, end - 1) : b.toString();
            }
            if (b.length() > 8192) {
                throw new IOException("a response line longer than 8 KB");
            }
            b.append((char) c);
        }
    }
}
