package dev.mxd.tls;

import dev.mxd.smtp.LogText;
import dev.mxd.smtp.client.PresentedCertificate;
import dev.mxd.smtp.client.ServerAuthentication;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates an MX host's certificate chain by its usable TLSA records (RFC 7672 §3.1). A DANE-EE(3)
 * record matches the server's own certificate or public key, and that is all: no name, no expiry, no
 * chain (§3.1.1). A DANE-TA(2) record matches a certificate the server sent above its own; the chain from
 * the server's certificate up to it, in any order sent, must verify (signatures, validity) and the server's certificate must
 * name one of the reference identifiers (§3.2.2: the TLSA base domain and the MX host name). Any one
 * record that matches authenticates the server. Digest agility (RFC 7671 §9): for each usage and selector, only
 * records of the strongest digest present are used (SHA2-512 over SHA2-256), so a weaker digest published beside
 * a stronger one during a change of algorithm is not what authenticates; Full(0) records are no digest and always
 * count.
 */
public final class DaneVerifier implements ServerAuthentication {

    private static final Logger LOG = LoggerFactory.getLogger(DaneVerifier.class);

    private final List<Tlsa> records;
    private final List<String> referenceNames;
    private final Clock clock;
    private final java.util.Optional<String> baseDomain;

    /**
     * @param records        the host's usable TLSA records (others are ignored)
     * @param referenceNames names the server's certificate may carry under DANE-TA(2), besides the host name
     *                       {@link #verify} is given (the TLSA base domain when a CNAME led to it)
     */
    public DaneVerifier(List<Tlsa> records, List<String> referenceNames, Clock clock) {
        this(records, referenceNames, java.util.Optional.empty(), clock);
    }

    /** As above, with the TLSA base domain when it is not the MX host name (a secure alias): sent in SNI. */
    public DaneVerifier(List<Tlsa> records, List<String> referenceNames, java.util.Optional<String> baseDomain, Clock clock) {
        this.baseDomain = baseDomain;
        this.records = strongestDigests(records.stream().filter(Tlsa::usable).toList());
        this.referenceNames = List.copyOf(referenceNames);
        this.clock = clock;
        if (this.records.isEmpty()) {
            throw new IllegalArgumentException("DANE needs at least one usable TLSA record");
        }
    }

    /**
     * RFC 7671 §9: per (usage, selector), the records whose matching type is the strongest digest among them
     * (2, SHA2-512, beats 1, SHA2-256), and every Full(0) record.
     */
    static List<Tlsa> strongestDigests(List<Tlsa> usable) {
        java.util.Map<Integer, Integer> strongest = new java.util.HashMap<>();
        for (Tlsa r : usable) {
            if (r.matching() != 0) {
                strongest.merge(r.usage() * 256 + r.selector(), r.matching(), Math::max);
            }
        }
        return usable.stream()
                .filter(r -> r.matching() == 0 || strongest.get(r.usage() * 256 + r.selector()) == r.matching())
                .toList();
    }

    public DaneVerifier(List<Tlsa> records) {
        this(records, List.of(), Clock.systemUTC());
    }

    @Override
    public String method() {
        return "DANE";
    }

    @Override
    public java.util.Optional<String> serverName() {
        return baseDomain;
    }

    /** The records this verifier matches, in presentation form. */
    public List<String> recordTexts() {
        return records.stream().map(Tlsa::text).toList();
    }

    @Override
    public String verify(List<X509Certificate> chain, String host) throws Rejected {
        if (chain.isEmpty()) {
            throw rejected("validation-failure", "the server presented no certificate");
        }
        X509Certificate leaf = chain.get(0);
        Rejected taFailure = null;
        for (Tlsa r : records) {
            if (r.usage() == Tlsa.DANE_EE) {
                if (matches(r, leaf)) {
                    return authenticated(host, r.describe());
                }
                continue;
            }
            for (int i = 1; i < chain.size(); i++) {
                if (!matches(r, chain.get(i))) {
                    continue;
                }
                try {
                    List<X509Certificate> path = pathTo(chain, i);
                    verifyUpTo(path, path.size() - 1);
                    checkName(leaf, host);
                    return authenticated(host, r.describe() + " (trust anchor " + dn(chain.get(i)) + ")");
                } catch (Rejected e) {
                    taFailure = taFailure == null ? e : taFailure;
                }
            }
        }
        if (taFailure != null) {
            throw taFailure;
        }
        throw rejected("validation-failure", "no TLSA record of " + host + " matches the certificate chain it presented ("
                + dn(leaf) + ")");
    }

    /**
     * Logs and returns how the server was authenticated. The text quotes certificate names the remote domain
     * chose; it is made fit for one log line first, as it also reaches the TLS results and the demo timeline.
     */
    private static String authenticated(String host, String how) {
        String safe = LogText.safe(how);
        LOG.info("{}: TLS authenticated by DANE: {}", LogText.safe(host), safe);
        return safe;
    }

    /** A rejection whose text (quoting certificate names and SANs from the remote server) is fit for one log line. */
    private static Rejected rejected(String resultType, String message) {
        return new Rejected(resultType, LogText.safe(message));
    }

    /** A certificate's subject (RFC 2253 form keeps control characters): for messages, escaped. */
    private static String dn(X509Certificate c) {
        return LogText.safe(c.getSubjectX500Principal().getName());
    }

    /**
     * The server's certificate, then each one's issuer among the certificates it sent, up to the trust anchor at
     * {@code anchor}: TLS 1.3 lets a server send the certificates above its own in any order (RFC 8446 §4.4.2),
     * so the path is found by issuer name, not taken from the order sent. At most one step per certificate sent.
     */
    private static List<X509Certificate> pathTo(List<X509Certificate> chain, int anchor) throws Rejected {
        List<X509Certificate> path = new ArrayList<>();
        path.add(chain.get(0));
        X509Certificate top = chain.get(anchor);
        while (path.get(path.size() - 1) != top) {
            if (path.size() > chain.size()) {
                throw rejected("certificate-not-trusted", "the certificates sent do not lead to the trust anchor");
            }
            X509Certificate current = path.get(path.size() - 1);
            X509Certificate next = null;
            for (int k = 1; k < chain.size(); k++) {
                X509Certificate candidate = chain.get(k);
                if (!path.contains(candidate) && current.getIssuerX500Principal().equals(candidate.getSubjectX500Principal())
                        && (next == null || candidate == top)) {
                    next = candidate;
                }
            }
            if (next == null) {
                throw rejected("certificate-not-trusted", "certificate " + dn(current)
                        + " was not issued by any certificate the server sent on the way to the trust anchor");
            }
            path.add(next);
        }
        return path;
    }

    /** Signatures and validity from the server's certificate up to (not including) the trust anchor at {@code top}. */
    private void verifyUpTo(List<X509Certificate> chain, int top) throws Rejected {
        Date now = Date.from(clock.instant());
        for (int j = 0; j < top; j++) {
            X509Certificate c = chain.get(j);
            X509Certificate issuer = chain.get(j + 1);
            if (!c.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
                throw rejected("certificate-not-trusted", "certificate " + dn(c)
                        + " was not issued by the next one in the chain (" + dn(issuer) + ")");
            }
            try {
                c.verify(issuer.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw rejected("certificate-not-trusted", "the signature on " + dn(c)
                        + " does not verify with its issuer's key: " + e.getMessage());
            }
            try {
                c.checkValidity(now);
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                throw rejected("certificate-expired", "certificate " + dn(c)
                        + " is not valid now (" + c.getNotBefore().toInstant() + " to " + c.getNotAfter().toInstant() + ")");
            }
            if (j > 0 && c.getBasicConstraints() < 0) {
                throw rejected("certificate-not-trusted", "certificate " + dn(c)
                        + " issues another but is not a CA certificate");
            }
        }
    }

    private void checkName(X509Certificate leaf, String host) throws Rejected {
        List<String> refs = new ArrayList<>();
        refs.add(host);
        refs.addAll(referenceNames);
        PresentedCertificate presented = PresentedCertificate.of(leaf);
        for (String ref : refs) {
            if (presented.namesHost(ref)) {
                return;
            }
        }
        throw rejected("certificate-host-mismatch", "the certificate names " + presented.names()
                + ", none of " + refs.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList());
    }

    /** Whether {@code cert} is what {@code r} names (RFC 6698 §2.1.2, §2.1.3). */
    static boolean matches(Tlsa r, X509Certificate cert) {
        byte[] selected;
        try {
            selected = r.selector() == 0 ? cert.getEncoded() : subjectPublicKeyInfo(cert);
        } catch (CertificateEncodingException | IllegalArgumentException e) {
            return false;
        }
        byte[] value;
        try {
            value = switch (r.matching()) {
                case 0 -> selected;
                case 1 -> MessageDigest.getInstance("SHA-256").digest(selected);
                case 2 -> MessageDigest.getInstance("SHA-512").digest(selected);
                default -> null;
            };
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + e.getMessage(), e);
        }
        return value != null && MessageDigest.isEqual(value, r.data());
    }

    /**
     * The certificate's own SubjectPublicKeyInfo bytes, as the server's certificate carries them (RFC 6698 §2.1.2
     * selector 1), taken from the TBS certificate rather than re-encoded by the JDK's key classes (which may write
     * the algorithm parameters differently from the certificate). TBSCertificate (RFC 5280 §4.1): an optional
     * [0] version, then serial, signature algorithm, issuer, validity, subject, and the SPKI.
     */
    static byte[] subjectPublicKeyInfo(X509Certificate cert) throws CertificateEncodingException {
        byte[] tbs = cert.getTBSCertificate();
        int[] outer = dev.mxd.smtp.Der.header(tbs, 0);
        if (tbs[0] != 0x30) {
            throw new IllegalArgumentException("the TBS certificate is not a SEQUENCE");
        }
        int at = outer[0];
        if ((tbs[at] & 0xFF) == 0xA0) {
            at = dev.mxd.smtp.Der.skip(tbs, at); // the version
        }
        for (int field = 0; field < 5; field++) {
            at = dev.mxd.smtp.Der.skip(tbs, at);
        }
        return java.util.Arrays.copyOfRange(tbs, at, dev.mxd.smtp.Der.skip(tbs, at));
    }
}
