package dev.mxd.smtp;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The first private key of a PEM file, as the server's TLS key and the DKIM key of report mail are
 * read: unencrypted PKCS#8 (RFC 5958, "BEGIN PRIVATE KEY"), or OpenSSL's traditional forms rewritten
 * as the PKCS#8 PrivateKeyInfo the JDK reads: an RSA key of PKCS#1 (RFC 8017 appendix A.1.2, "BEGIN
 * RSA PRIVATE KEY") and an EC key of SEC1 (RFC 5915, "BEGIN EC PRIVATE KEY") are put unchanged inside
 * the wrapper, with the algorithm (and for EC the named curve, read from the key) in front ({@link Der}).
 */
public final class PemKeys {

    /** rsaEncryption, 1.2.840.113549.1.1.1, as a DER OBJECT IDENTIFIER. */
    private static final byte[] RSA_ENCRYPTION = {0x06, 0x09, 0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xF7, 0x0D, 0x01, 0x01, 0x01};
    /** id-ecPublicKey, 1.2.840.10045.2.1. */
    private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x02, 0x01};
    private static final byte[] NULL = {0x05, 0x00};
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

    private PemKeys() {
    }

    /** The key is unusable as written; the message says why, and how to convert it. */
    public static final class Unreadable extends Exception {
        Unreadable(String message) {
            super(message);
        }
    }

    /** The first PEM private key of the text: unencrypted PKCS#8 (RFC 5958), PKCS#1 RSA (RFC 8017) or SEC1 EC (RFC 5915). */
    public static Optional<PrivateKey> read(String text) throws Unreadable {
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            String label = m.group(1);
            if (label.equals("ENCRYPTED PRIVATE KEY") || (label.endsWith("PRIVATE KEY") && m.group(2).contains("ENCRYPTED"))) {
                throw new Unreadable("the key is encrypted with a passphrase, which mxd cannot be given at start;"
                        + " write it unencrypted (openssl pkey -in KEY -out KEY.plain) and keep the file mode 600");
            }
            if (label.equals("DSA PRIVATE KEY")) {
                throw new Unreadable("the key is in the traditional OpenSSL format (-----BEGIN " + label + "-----);"
                        + " mxd reads PKCS#8: convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
            }
            if (label.equals("PRIVATE KEY") || label.equals("RSA PRIVATE KEY") || label.equals("EC PRIVATE KEY")) {
                byte[] der;
                try {
                    der = Base64.getMimeDecoder().decode(m.group(2).strip());
                } catch (IllegalArgumentException e) {
                    throw new Unreadable("the PEM block is not valid base64: " + e.getMessage());
                }
                // The traditional forms that openssl genrsa -traditional, ecparam -genkey and older tools write (PKCS#1,
                // SEC1) are the same key inside a PKCS#8 wrapper, which is all the JDK's key factories read.
                try {
                    return Optional.of(pkcs8(switch (label) {
                        case "RSA PRIVATE KEY" -> fromPkcs1(der);
                        case "EC PRIVATE KEY" -> fromSec1(der);
                        default -> der;
                    }));
                } catch (IllegalArgumentException e) {
                    throw new Unreadable("the key (-----BEGIN " + label + "-----) cannot be read: " + e.getMessage()
                            + "; convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
                }
            }
        }
        return Optional.empty();
    }

    private static PrivateKey pkcs8(byte[] der) throws Unreadable {
        for (String algorithm : List.of("RSA", "EC", "DSA", "EdDSA", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // not this algorithm: try the next
            }
        }
        throw new Unreadable("not a PKCS#8 key of a type mxd knows (RSA, EC); make one with openssl genpkey -algorithm RSA"
                + " -pkeyopt rsa_keygen_bits:2048");
    }

    /** PrivateKeyInfo { version 0, { rsaEncryption, NULL }, OCTET STRING (the PKCS#1 key) }. */
    static byte[] fromPkcs1(byte[] pkcs1) {
        return Der.tlv(0x30, VERSION_0, Der.tlv(0x30, RSA_ENCRYPTION, NULL), Der.tlv(0x04, pkcs1));
    }

    /**
     * PrivateKeyInfo { version 0, { id-ecPublicKey, the named curve }, OCTET STRING (the SEC1 key) }. The curve is the
     * SEC1 key's {@code [0] parameters}; a key written without them (openssl ec -no_public, some tools) cannot be read.
     */
    static byte[] fromSec1(byte[] sec1) {
        byte[] curve = null;
        int[] outer = Der.header(sec1, 0);
        if (sec1[0] != 0x30) {
            throw new IllegalArgumentException("not a DER SEQUENCE");
        }
        int at = outer[0];
        int end = Math.min(sec1.length, outer[0] + outer[1]);
        while (at < end) {
            int[] h = Der.header(sec1, at);
            if ((sec1[at] & 0xFF) == 0xA0) { // [0] ECParameters: here a namedCurve OID
                int inner = h[0];
                int[] oid = Der.header(sec1, inner);
                if (sec1[inner] == 0x06) {
                    curve = java.util.Arrays.copyOfRange(sec1, inner, oid[0] + oid[1]);
                }
            }
            at = h[0] + h[1];
        }
        if (curve == null) {
            throw new IllegalArgumentException("the EC key does not name its curve");
        }
        return Der.tlv(0x30, VERSION_0, Der.tlv(0x30, EC_PUBLIC_KEY, curve), Der.tlv(0x04, sec1));
    }
}
