package dev.mxd.tls;

import dev.mxd.smtp.client.ServerAuthentication;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The Web PKI as MTA-STS uses it (RFC 8461 §4.1): the certificates trusted (delivery.tls.ca-file, else
 * the JDK's trust store), the TLS context the policy fetch uses, and the check of an MX host's chain.
 */
public final class WebPki {

    private final X509TrustManager trust;
    private final SSLContext context;

    private WebPki(X509TrustManager trust) throws GeneralSecurityException {
        this.trust = trust;
        this.context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {trust}, null);
    }

    /** Trusts the PEM certificates of {@code caFile}, or the JDK's trust store when it is empty. */
    public static WebPki of(Optional<Path> caFile) throws IOException {
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (caFile.isPresent()) {
                KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
                store.load(null, null);
                Collection<? extends Certificate> certs;
                try (InputStream in = Files.newInputStream(caFile.get())) {
                    certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
                }
                if (certs.isEmpty()) {
                    throw new IOException(caFile.get() + " holds no PEM certificate");
                }
                int i = 0;
                for (Certificate c : certs) {
                    store.setCertificateEntry("ca" + i++, c);
                }
                factory.init(store);
            } else {
                factory.init((KeyStore) null);
            }
            for (TrustManager m : factory.getTrustManagers()) {
                if (m instanceof X509TrustManager x) {
                    return new WebPki(x);
                }
            }
            throw new IOException("no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read trusted certificates" + caFile.map(p -> " from " + p).orElse("") + ": " + e.getMessage(), e);
        }
    }

    /** A TLS context that trusts these certificates (hostname checks are the caller's: set them on the socket). */
    public SSLContext context() {
        return context;
    }

    /** Checks MX certificates as MTA-STS asks: a chain to a trusted root, valid now, naming the MX host. */
    public ServerAuthentication mxAuthentication() {
        return authentication("MTA-STS");
    }

    /**
     * The same check for a REQUIRETLS message to an MX host that a DNSSEC-secure MX lookup found and that
     * neither DANE nor MTA-STS authenticates (RFC 8689 §4.2.1: the certificate checked as RFC 6125 says,
     * against the MX host name); "PKIX" in logs and reasons.
     */
    public ServerAuthentication requireTlsAuthentication() {
        return authentication("PKIX");
    }

    private ServerAuthentication authentication(String method) {
        return new ServerAuthentication() {
            @Override
            public String method() {
                return method;
            }

            @Override
            public String verify(List<X509Certificate> chain, String host) throws Rejected {
                return check(chain, host);
            }
        };
    }

    /** {@link #mxAuthentication()}'s check; returns the leaf's subject for logs. */
    String check(List<X509Certificate> chain, String host) throws ServerAuthentication.Rejected {
        if (chain.isEmpty()) {
            throw new ServerAuthentication.Rejected("certificate-not-trusted", "the server presented no certificate");
        }
        X509Certificate leaf = chain.get(0);
        try {
            leaf.checkValidity(); // the leaf is on every path; other certificates sent count only on the path validated below
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new ServerAuthentication.Rejected("certificate-expired", "certificate " + leaf.getSubjectX500Principal().getName()
                    + " is not valid now (" + leaf.getNotBefore().toInstant() + " to " + leaf.getNotAfter().toInstant() + ")");
        }
        try {
            trust.checkServerTrusted(chain.toArray(X509Certificate[]::new), "UNKNOWN");
        } catch (java.security.cert.CertificateException e) {
            if (expired(e)) {
                throw new ServerAuthentication.Rejected("certificate-expired", "a certificate on the path from " + host
                        + " to a trusted certificate is not valid now: " + e.getMessage());
            }
            throw new ServerAuthentication.Rejected("certificate-not-trusted", "the certificate chain of " + host
                    + " does not lead to a trusted certificate: " + e.getMessage());
        }
        List<String> names = dnsNames(leaf);
        for (String name : names) {
            if (nameMatches(name, host)) {
                return "PKIX, " + name;
            }
        }
        throw new ServerAuthentication.Rejected("certificate-host-mismatch", "the certificate of " + host + " names "
                + (names.isEmpty() ? "no DNS name" : String.join(", ", names)) + ", not " + host);
    }

    /** Whether path validation failed on a certificate's validity dates (RFC 8460's certificate-expired). */
    private static boolean expired(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                return true;
            }
            if (t instanceof java.security.cert.CertPathValidatorException v
                    && (v.getReason() == java.security.cert.CertPathValidatorException.BasicReason.EXPIRED
                    || v.getReason() == java.security.cert.CertPathValidatorException.BasicReason.NOT_YET_VALID)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The leaf's DNS names: its subjectAltName dNSName entries only. RFC 8461 §4.2 requires a matching
     * DNS-ID, so the subject's CN is never a fallback.
     */
    static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alt = leaf.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> entry : alt) {
                    if (entry.size() >= 2 && Integer.valueOf(2).equals(entry.get(0)) && entry.get(1) instanceof String s) {
                        names.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return names;
        }
        return names;
    }

    /** A certificate name against a host name: exact, or a wildcard for the whole leftmost label (RFC 6125 §6.4.3). */
    static boolean nameMatches(String certName, String host) {
        String c = strip(certName);
        String h = strip(host);
        if (c.startsWith("*.")) {
            int dot = h.indexOf('.');
            return dot > 0 && c.substring(2).equals(h.substring(dot + 1));
        }
        return c.equals(h);
    }

    private static String strip(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }
}
