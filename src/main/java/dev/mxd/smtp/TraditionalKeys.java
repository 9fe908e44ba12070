package dev.mxd.smtp;

/**
 * Private keys in OpenSSL's traditional PEM forms, rewritten as the PKCS#8 PrivateKeyInfo (RFC 5958)
 * that the JDK reads: an RSA key of PKCS#1 (RFC 8017 appendix A.1.2, "BEGIN RSA PRIVATE KEY") and an
 * EC key of SEC1 (RFC 5915, "BEGIN EC PRIVATE KEY") are put unchanged inside the wrapper, with the
 * algorithm (and for EC the named curve, read from the key) in front ({@link Der}); anything else is
 * refused by the key factory afterwards.
 * The server's TLS key and the DKIM key of report mail are read through it.
 */
public final class TraditionalKeys {

    /** rsaEncryption, 1.2.840.113549.1.1.1, as a DER OBJECT IDENTIFIER. */
    private static final byte[] RSA_ENCRYPTION = {0x06, 0x09, 0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xF7, 0x0D, 0x01, 0x01, 0x01};
    /** id-ecPublicKey, 1.2.840.10045.2.1. */
    private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x02, 0x01};
    private static final byte[] NULL = {0x05, 0x00};
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

    private TraditionalKeys() {
    }

    /** PrivateKeyInfo { version 0, { rsaEncryption, NULL }, OCTET STRING (the PKCS#1 key) }. */
    public static byte[] fromPkcs1(byte[] pkcs1) {
        return Der.tlv(0x30, VERSION_0, Der.tlv(0x30, RSA_ENCRYPTION, NULL), Der.tlv(0x04, pkcs1));
    }

    /**
     * PrivateKeyInfo { version 0, { id-ecPublicKey, the named curve }, OCTET STRING (the SEC1 key) }. The curve is the
     * SEC1 key's {@code [0] parameters}; a key written without them (openssl ec -no_public, some tools) cannot be read.
     */
    public static byte[] fromSec1(byte[] sec1) {
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
