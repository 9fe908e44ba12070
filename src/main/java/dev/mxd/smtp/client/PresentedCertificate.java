package dev.mxd.smtp.client;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a server's STARTTLS certificate says, as {@code mxd check} grades it: its validity, its key,
 * the names it is for, and whether it signed itself. Nothing here is trusted or verified: the probe
 * accepts any certificate so that it can describe it.
 *
 * @param subject    the subject's distinguished name
 * @param names      DNS names of the subject alternative names (or the CN when there are none)
 * @param notBefore  start of validity
 * @param notAfter   end of validity
 * @param keyAlgorithm "RSA", "EC", ...
 * @param rsaBits    the RSA modulus length, when the key is RSA
 * @param selfSigned issuer and subject are the same and the key verifies the certificate's own signature
 */
public record PresentedCertificate(String subject, List<String> names, Instant notBefore, Instant notAfter,
                                   String keyAlgorithm, Optional<Integer> rsaBits, boolean selfSigned) {

    public PresentedCertificate {
        names = List.copyOf(names);
    }

    /** What {@code c} says (nothing checked). */
    public static PresentedCertificate of(X509Certificate c) {
        List<String> names = new ArrayList<>();
        try {
            if (c.getSubjectAlternativeNames() != null) {
                for (List<?> san : c.getSubjectAlternativeNames()) {
                    if (Integer.valueOf(2).equals(san.get(0))) { // dNSName (RFC 5280 §4.2.1.6)
                        names.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException unreadable) {
            // no names from it: the finding says the certificate names no host
        }
        String subject = c.getSubjectX500Principal().getName();
        if (names.isEmpty()) {
            for (String part : subject.split(",")) {
                if (part.startsWith("CN=")) {
                    names.add(part.substring(3));
                }
            }
        }
        Optional<Integer> bits = c.getPublicKey() instanceof RSAPublicKey rsa
                ? Optional.of(rsa.getModulus().bitLength()) : Optional.empty();
        return new PresentedCertificate(subject, names, c.getNotBefore().toInstant(), c.getNotAfter().toInstant(),
                c.getPublicKey().getAlgorithm(), bits, selfSigned(c));
    }

    private static boolean selfSigned(X509Certificate c) {
        if (!c.getIssuerX500Principal().equals(c.getSubjectX500Principal())) {
            return false;
        }
        try {
            c.verify(c.getPublicKey());
            return true;
        } catch (Exception notByItsOwnKey) {
            return false;
        }
    }

    /** RFC 6125 §6.4: does one of the names match {@code host} (a "*." wildcard covers one left-most label)? */
    public boolean namesHost(String host) {
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        for (String n : names) {
            String name = n.toLowerCase(java.util.Locale.ROOT);
            if (name.equalsIgnoreCase(h)) {
                return true;
            }
            if (name.startsWith("*.") && h.indexOf('.') > 0 && h.substring(h.indexOf('.') + 1).equalsIgnoreCase(name.substring(2))) {
                return true;
            }
        }
        return false;
    }
}
