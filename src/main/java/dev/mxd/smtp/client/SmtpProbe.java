package dev.mxd.smtp.client;

import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.MalformedReplyException;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.SmtpReplyReader;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Opens an SMTP session the way a sending MTA would and stops before any mail: connect, read the
 * greeting, EHLO (HELO if EHLO gets 5yz, RFC 5321 §4.1.4), QUIT. Blocking; every step is bounded
 * by {@link ProbeSettings}. Never throws for anything the network or the peer does: the answer is
 * a {@link ProbeResult}. Safe to use from several threads (it keeps no state between probes).
 */
public final class SmtpProbe {

    /** QUIT is a courtesy (RFC 5321 §4.1.1.10); its reply is not worth a full read timeout. */
    private static final Duration QUIT_WAIT = Duration.ofSeconds(2);

    private final ProbeSettings settings;

    public SmtpProbe(ProbeSettings settings) {
        this.settings = settings;
    }

    public ProbeSettings settings() {
        return settings;
    }

    public ProbeResult probe(InetSocketAddress target) {
        String where = Connect.describe(target);
        Socket socket = new Socket();
        long started = System.nanoTime();
        try {
            socket.connect(target, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()));
        } catch (IOException e) {
            Connect.closeQuietly(socket);
            return connectFailure(target, where, e);
        }
        long connectMillis = (System.nanoTime() - started) / 1_000_000;
        try (socket) {
            return new Session(target, where, socket, connectMillis).run();
        } catch (IOException e) {
            // Only socket set-up can get here; every exchange is caught inside the session.
            return failed(target, SessionStage.GREETING, SessionFailure.Cause.CLOSED, where + ": " + e.getMessage(),
                    OptionalLong.of(connectMillis), Optional.empty(), Optional.empty());
        }
    }

    private ProbeResult connectFailure(InetSocketAddress target, String where, IOException e) {
        Connect.Error error = Connect.Error.of(e, where, settings.connectTimeout());
        return failed(target, SessionStage.CONNECT, error.cause(), error.detail(), OptionalLong.empty(), Optional.empty(),
                Optional.empty());
    }

    private static ProbeResult.Failed failed(InetSocketAddress target, SessionStage stage, SessionFailure.Cause cause, String detail,
                                             OptionalLong connectMillis, Optional<SmtpReply> banner, Optional<SmtpReply> reply) {
        return new ProbeResult.Failed(new SessionFailure(target, target.getHostString(), stage, cause, detail, reply),
                connectMillis, banner);
    }

    /** One connection's exchange; remembers how far it got so a failure can say where. */
    private final class Session {
        private final InetSocketAddress target;
        private final String where;
        private final Socket socket;
        private final long connectMillis;
        private final DeadlineInputStream input;
        private final SmtpReplyReader reader;
        private final OutputStream output;
        private SessionStage stage = SessionStage.GREETING;
        private SmtpReply greeting;

        Session(InetSocketAddress target, String where, Socket socket, long connectMillis) throws IOException {
            this.target = target;
            this.where = where;
            this.socket = socket;
            this.connectMillis = connectMillis;
            this.input = new DeadlineInputStream(socket);
            this.reader = new SmtpReplyReader(new BufferedInputStream(input));
            this.output = socket.getOutputStream();
        }

        ProbeResult run() {
            try {
                greeting = read(settings.readTimeout());
                if (!greeting.positive()) {
                    quit();
                    return failed(SessionFailure.Cause.REJECTED, where + " greeted with " + greeting.summary()
                            + (greeting.transientFailure() ? ": it turns sessions away for now" : ": it refuses SMTP sessions")
                            + " (RFC 5321 §3.1)", greeting);
                }
                stage = SessionStage.EHLO;
                String name = settings.ehloName().orElseGet(() -> Connect.addressLiteral(socket.getLocalAddress()));
                SmtpReply hello = command("EHLO " + name);
                boolean esmtp = true;
                if (hello.permanentFailure()) {
                    esmtp = false;
                    hello = command("HELO " + name);
                }
                if (!hello.positive()) {
                    quit();
                    return failed(SessionFailure.Cause.REJECTED, where + " refused " + (esmtp ? "EHLO" : "EHLO and HELO")
                            + " from " + name + ": " + hello.summary(), hello);
                }
                EhloExtensions extensions = esmtp
                        ? EhloExtensions.of(hello)
                        : EhloExtensions.none(EhloExtensions.firstWord(hello.firstLine()));
                if (!extensions.starttls()) {
                    quit();
                    return new ProbeResult.Reached(target, connectMillis, greeting, hello, esmtp, extensions);
                }
                ProbeResult.Tls tls = startTls();
                return new ProbeResult.Reached(target, connectMillis, greeting, hello, esmtp, extensions, Optional.of(tls));
            } catch (SocketTimeoutException e) {
                return failed(SessionFailure.Cause.TIMEOUT, stage == SessionStage.GREETING
                        ? where + " accepted the connection but sent no greeting within " + Connect.text(settings.readTimeout())
                                + ": the server is overloaded, stuck, or a tarpit"
                        : where + " did not answer EHLO within " + Connect.text(settings.readTimeout()), null);
            } catch (EOFException e) {
                return failed(SessionFailure.Cause.CLOSED, where + " closed the connection while we waited for "
                        + (stage == SessionStage.GREETING ? "its greeting" : "its EHLO reply") + " (" + e.getMessage() + ")", null);
            } catch (MalformedReplyException e) {
                return failed(SessionFailure.Cause.PROTOCOL_ERROR, where + " sent a malformed " + stage.label()
                        + " reply: " + e.getMessage() + "; is this port really SMTP?", null);
            } catch (IOException e) {
                return failed(SessionFailure.Cause.CLOSED, where + ": connection broke at " + stage.label() + ": " + e.getMessage(), null);
            }
        }

        /**
         * STARTTLS (RFC 3207) to see the certificate the server presents to senders; any certificate is
         * accepted here, since the point is to describe it. The session ends after the handshake.
         */
        private ProbeResult.Tls startTls() {
            try {
                SmtpReply ready = command("STARTTLS");
                if (ready.code() != 220) {
                    quit();
                    return new ProbeResult.Tls.Failed(where + " offers STARTTLS but answered it " + ready.summary());
                }
                javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
                context.init(null, new javax.net.ssl.TrustManager[] {new DescribeOnly()}, null);
                javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) context.getSocketFactory()
                        .createSocket(socket, target.getHostString(), target.getPort(), true);
                tls.setSoTimeout((int) Math.min(Integer.MAX_VALUE, settings.readTimeout().toMillis()));
                tls.startHandshake();
                javax.net.ssl.SSLSession session = tls.getSession();
                java.security.cert.Certificate[] chain = session.getPeerCertificates();
                ProbeResult.Tls result = chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate x
                        ? new ProbeResult.Tls.Presented(session.getProtocol(), session.getCipherSuite(), PresentedCertificate.of(x))
                        : new ProbeResult.Tls.Failed(where + " presented no X.509 certificate");
                try {
                    tls.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                    tls.getOutputStream().flush();
                } catch (IOException ignored) {
                    // the handshake already told what we came for
                }
                return result;
            } catch (IOException | java.security.GeneralSecurityException e) {
                return new ProbeResult.Tls.Failed(where + ": the STARTTLS handshake failed: " + e.getMessage());
            }
        }

        private SmtpReply command(String line) throws IOException {
            output.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            output.flush();
            return read(settings.readTimeout());
        }

        private SmtpReply read(Duration limit) throws IOException {
            input.deadline(System.nanoTime() + limit.toNanos());
            return reader.read();
        }

        /** Says goodbye; a server that does not answer QUIT promptly costs nothing more. */
        private void quit() {
            try {
                output.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                output.flush();
                read(QUIT_WAIT.compareTo(settings.readTimeout()) < 0 ? QUIT_WAIT : settings.readTimeout());
            } catch (IOException ignored) {
                // the session already said what we came for
            }
        }

        private ProbeResult failed(SessionFailure.Cause failure, String detail, SmtpReply reply) {
            return SmtpProbe.failed(target, stage, failure, detail, OptionalLong.of(connectMillis),
                    Optional.ofNullable(greeting), Optional.ofNullable(reply));
        }
    }

    /** Accepts every server certificate: the probe describes it, it does not rely on it. */
    private static final class DescribeOnly implements javax.net.ssl.X509TrustManager {
        @Override
        public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("the probe is a client");
        }

        @Override
        public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            // described by PresentedCertificate and graded by mxd check, never trusted for anything
        }

        @Override
        public java.security.cert.X509Certificate[] getAcceptedIssuers() {
            return new java.security.cert.X509Certificate[0];
        }
    }
}
