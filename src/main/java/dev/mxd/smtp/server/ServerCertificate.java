package dev.mxd.smtp.server;

import dev.mxd.config.Tls;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * The certificate chain and private key STARTTLS presents (RFC 3207), read and checked before
 * mxd offers STARTTLS: a key that is not the certificate's, a file that cannot be read, or a key
 * mxd cannot use is refused with the file and the reason (a configuration error, exit 78), so
 * STARTTLS is never advertised with a handshake that always fails. An expired certificate or a
 * short RSA key still works with senders that do not verify (most MTAs, RFC 7435), so it is a
 * warning, logged at start and shown by /health. One call, {@link #load}, so a reload can
 * check new files the same way before it swaps them in.
 *
 * <p>Client-initiated renegotiation is refused (see the static block): with TLS 1.2 every
 * renegotiation costs the server a full handshake, and SMTP never needs one.
 */
public final class ServerCertificate {

    /** RSA keys shorter than this are warned about (NIST SP 800-131A; browsers and MTAs refuse 1024 bits). */
    static final int MIN_RSA_BITS = 2048;

    /** The JDK's switch that makes a server answer a renegotiating ClientHello with a fatal alert. */
    static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    static {
        // Read by the JDK once, when the first server handshake runs: it must be set before that.
        // TLS 1.2 only (TLS 1.3 has no renegotiation). An operator's own -D setting wins.
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
    }


    private ServerCertificate() {}

    /** What loading a certificate and key gave. */
    public sealed interface Loading permits Loaded, Refused {}

    /**
     * Usable: the TLS context STARTTLS uses.
     *
     * @param warnings what an operator should fix, though senders can still use STARTTLS (expired, short key)
     */
    public record Loaded(SslContext context, X509Certificate certificate, List<String> warnings) implements Loading {
        public Loaded {
            warnings = List.copyOf(warnings);
        }
    }

    /** Not usable: the file at fault and why, in words an operator can act on. */
    public record Refused(Path file, String reason) implements Loading {
        public String message() {
            return file + ": " + reason;
        }
    }

    /** Thrown where starting the server meets a {@link Refused} certificate or key; {@code mxd serve} exits 78 on it. */
    public static final class UnusableException extends IOException {
        private final Refused refused;

        UnusableException(Refused refused) {
            super("cannot use the TLS certificate or key: " + refused.message());
            this.refused = refused;
        }

        public Refused refused() {
            return refused;
        }
    }

    /** Reads and checks {@code tls}; {@code now} decides whether the certificate has expired. */
    public static Loading load(Tls tls, Instant now) {
        List<X509Certificate> chain;
        try {
            chain = certificates(tls.certificate());
        } catch (IOException e) {
            return new Refused(tls.certificate(), "cannot read it: " + e.getMessage());
        } catch (CertificateException e) {
            return new Refused(tls.certificate(), "not a PEM certificate chain (-----BEGIN CERTIFICATE-----): " + e.getMessage());
        }
        if (chain.isEmpty()) {
            return new Refused(tls.certificate(), "holds no certificate; give the PEM chain, the server's certificate first");
        }
        PrivateKey key;
        try {
            Optional<PrivateKey> read = dev.mxd.smtp.PemKeys.read(Files.readString(tls.privateKey(), StandardCharsets.US_ASCII));
            if (read.isEmpty()) {
                return new Refused(tls.privateKey(), "holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
            }
            key = read.get();
        } catch (IOException e) {
            return new Refused(tls.privateKey(), "cannot read it: " + e.getMessage());
        } catch (dev.mxd.smtp.PemKeys.Unreadable e) {
            return new Refused(tls.privateKey(), e.getMessage());
        }
        X509Certificate cert = chain.get(0);
        if (key.getAlgorithm().equals("DSA")) {
            return new Refused(tls.privateKey(), "a DSA key signs no handshake STARTTLS offers (ECDHE suites are signed"
                    + " with RSA or ECDSA); make an RSA (2048 bits or more) or EC key and certificate");
        }
        if (!key.getAlgorithm().equals("RSA") && !key.getAlgorithm().equals("EC")) {
            return new Refused(tls.privateKey(), "mxd takes RSA and EC keys, which every sender can verify, not "
                    + key.getAlgorithm() + "; make an RSA (2048 bits or more) or EC key and certificate");
        }
        if (!belongsTo(key, cert.getPublicKey())) {
            return new Refused(tls.privateKey(), "is not the key of the certificate in " + tls.certificate() + " ("
                    + cert.getSubjectX500Principal().getName() + "): every handshake would fail; give the key the"
                    + " certificate was issued for (openssl x509 -noout -pubkey and openssl pkey -pubout print the same key)");
        }
        SslContext context;
        try {
            context = SmtpServer.sslContext(key, chain);
        } catch (SSLException | IllegalArgumentException e) {
            return new Refused(tls.certificate(), "the TLS engine refused the certificate and key: " + e.getMessage());
        }
        return new Loaded(context, cert, warnings(tls.certificate(), cert, now));
    }

    /** A PEM certificate block, with its armour. */
    private static final java.util.regex.Pattern CERTIFICATE_BLOCK =
            java.util.regex.Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", java.util.regex.Pattern.DOTALL);

    /**
     * The certificates of the file, in its order. Only its CERTIFICATE blocks are read: a file that holds the private key
     * too (Postfix's smtpd_tls_key_file defaults to the certificate file, so such files are common) was refused as "not
     * a PEM certificate chain"; a file without one is read as it is (DER, or the factory's error).
     */
    private static List<X509Certificate> certificates(Path file) throws IOException, CertificateException {
        byte[] bytes = Files.readAllBytes(file);
        java.util.regex.Matcher blocks = CERTIFICATE_BLOCK.matcher(new String(bytes, StandardCharsets.ISO_8859_1));
        StringBuilder pem = new StringBuilder();
        while (blocks.find()) {
            pem.append(blocks.group()).append('\n');
        }
        List<X509Certificate> out = new ArrayList<>();
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        byte[] read = pem.length() > 0 ? pem.toString().getBytes(StandardCharsets.ISO_8859_1) : bytes;
        for (var c : cf.generateCertificates(new ByteArrayInputStream(read))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    /** Whether the private key signs what the certificate's public key verifies. */
    private static boolean belongsTo(PrivateKey key, PublicKey pub) {
        if (!key.getAlgorithm().equals(pub.getAlgorithm())) {
            return false;
        }
        String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(pub);
            verifier.update(challenge);
            return verifier.verify(sig);
        } catch (GeneralSecurityException e) {
            return false; // e.g. an EC key on another curve than the certificate's
        }
    }

    static List<String> warnings(Path file, X509Certificate cert, Instant now) {
        List<String> out = new ArrayList<>();
        String subject = cert.getSubjectX500Principal().getName();
        if (now.isAfter(cert.getNotAfter().toInstant())) {
            out.add(file + ": the certificate (" + subject + ") expired on " + cert.getNotAfter().toInstant()
                    + "; senders that verify certificates (DANE, MTA-STS) will not deliver; renew it");
        } else if (now.isBefore(cert.getNotBefore().toInstant())) {
            out.add(file + ": the certificate (" + subject + ") is not valid before " + cert.getNotBefore().toInstant()
                    + "; check the clock of this host or of the CA");
        }
        if (cert.getPublicKey() instanceof RSAKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
            out.add(file + ": the RSA key has " + rsa.getModulus().bitLength() + " bits, under " + MIN_RSA_BITS
                    + "; many senders refuse it; make a new key of 2048 bits or more and a certificate for it");
        }
        return out;
    }
}
