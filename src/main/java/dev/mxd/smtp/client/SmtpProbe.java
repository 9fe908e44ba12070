package dev.mxd.smtp.client;

import dev.mxd.smtp.MalformedReplyException;
import dev.mxd.smtp.SmtpReply;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Opens an SMTP session the way a sending MTA would and stops before any mail, for
 * {@code mxd check}: it is the delivery client's {@link SmtpConnection} opening (connect, greeting,
 * EHLO, HELO if EHLO gets 5yz, RFC 5321 §4.1.4), then, where the server offers it, STARTTLS to see
 * the certificate senders get (any certificate is accepted, since the point is to describe it) and
 * EHLO again, then QUIT. Blocking; every step is bounded by {@link ProbeSettings}. Never throws for
 * anything the network or the peer does: the answer is a {@link ProbeResult}. Safe to use from
 * several threads (it keeps no state between probes).
 */
public final class SmtpProbe {

    private final ProbeSettings settings;
    private final ClientSettings client;
    private final SmtpConnection.Voice voice;

    public SmtpProbe(ProbeSettings settings) {
        this.settings = settings;
        // TLS is not part of the opening here: the probe upgrades itself, to describe what it finds.
        this.client = ClientSettings.defaults(settings.ehloName().orElse("localhost"))
                .withTimeouts(ClientSettings.Timeouts.all(settings.readTimeout()).withConnect(settings.connectTimeout()))
                .withTls(TlsPolicy.NONE);
        this.voice = new ProbeVoice(settings);
    }

    public ProbeSettings settings() {
        return settings;
    }

    public ProbeResult probe(InetSocketAddress target) {
        SmtpConnection.Attempt attempt = SmtpConnection.attempt(target, target.getHostString(), client, voice);
        if (attempt.result() instanceof OpenResult.Failed f) {
            return new ProbeResult.Failed(f.failure(), attempt.connectMillis(), attempt.greeting());
        }
        SmtpConnection c = ((OpenResult.Ready) attempt.result()).connection();
        try (c) {
            long millis = attempt.connectMillis().orElse(0);
            SmtpReply hello = c.helloReply();
            if (!c.extensions().starttls()) {
                return new ProbeResult.Reached(target, millis, c.greeting(), hello, c.esmtp(), c.extensions());
            }
            return new ProbeResult.Reached(target, millis, c.greeting(), hello, c.esmtp(), c.extensions(),
                    Optional.of(c.upgradeToDescribe()));
        }
    }

    /** The probe's words: what a failure means for senders; our end named by its address literal unless set. */
    private static final class ProbeVoice implements SmtpConnection.Voice {
        private final ProbeSettings settings;

        ProbeVoice(ProbeSettings settings) {
            this.settings = settings;
        }

        @Override
        public String where(String host, InetSocketAddress target) {
            return Connect.describe(target);
        }

        @Override
        public String heloName(ClientSettings client, Socket socket) {
            return settings.ehloName().orElseGet(() -> Connect.addressLiteral(socket.getLocalAddress()));
        }

        @Override
        public String afterRefusal() {
            return "";
        }

        @Override
        public String lost(String where, SessionStage stage, IOException e, String what) {
            boolean greeting = stage == SessionStage.GREETING;
            if (e instanceof SocketTimeoutException) {
                return greeting
                        ? where + " accepted the connection but sent no greeting within " + Connect.text(settings.readTimeout())
                                + ": the server is overloaded, stuck, or a tarpit"
                        : where + " did not answer EHLO within " + Connect.text(settings.readTimeout());
            }
            if (e instanceof EOFException) {
                return where + " closed the connection while we waited for " + (greeting ? "its greeting" : "its EHLO reply")
                        + " (" + e.getMessage() + ")";
            }
            if (e instanceof MalformedReplyException) {
                return where + " sent a malformed " + stage.label() + " reply: " + e.getMessage() + "; is this port really SMTP?";
            }
            return where + ": connection broke at " + stage.label() + ": " + e.getMessage();
        }
    }
}
