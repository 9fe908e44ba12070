package dev.mxd.smtp;

import java.io.ByteArrayOutputStream;

/**
 * The little of DER (X.690) that mxd reads and writes itself: a single-octet tag, a definite length
 * of up to three octets, and the contents. Used for the public key a TLSA record matches (DANE), for
 * private keys in OpenSSL's traditional forms ({@link PemKeys}), and for the demo's
 * self-signed certificate. Anything else in the input is an {@link IllegalArgumentException}.
 */
public final class Der {

    private Der() {
    }

    /** Of the element at {@code at}: where its contents start, and their length (both checked against the input). */
    public static int[] header(byte[] der, int at) {
        if (at < 0 || at + 2 > der.length) {
            throw new IllegalArgumentException("a DER element runs past the end");
        }
        int first = der[at + 1] & 0xFF;
        int start;
        int length;
        if (first < 0x80) {
            start = at + 2;
            length = first;
        } else {
            int n = first & 0x7F;
            if (n == 0 || n > 3 || at + 2 + n > der.length) {
                throw new IllegalArgumentException("a DER length this code does not read");
            }
            length = 0;
            for (int k = 0; k < n; k++) {
                length = (length << 8) | (der[at + 2 + k] & 0xFF);
            }
            start = at + 2 + n;
        }
        if ((long) start + length > der.length) {
            throw new IllegalArgumentException("a DER element runs past the end");
        }
        return new int[] {start, length};
    }

    /** The offset just past the element at {@code at}. */
    public static int skip(byte[] der, int at) {
        int[] h = header(der, at);
        return h[0] + h[1];
    }

    /** One element: the tag, the length in its shortest form, then the parts one after another as its contents. */
    public static byte[] tlv(int tag, byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(n + 6);
        out.write(tag);
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            out.write(0x83);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
