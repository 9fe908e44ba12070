package dev.mxd.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** Test TLS material: a self-signed certificate made with openssl, and a client context that trusts anything. */
public final class Certificates {

    private Certificates() {}

    /** A self-signed certificate and PKCS#8 key for mx1.example.test, valid for a day. */
    public static void selfSigned(Path cert, Path key) throws Exception {
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(),
                "-out", cert.toString(), "-days", "1", "-subj", "/CN=mx1.example.test")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(key)) {
            throw new IllegalStateException("openssl could not make a self-signed certificate");
        }
    }

    /**
     * A {@link #selfSigned} certificate and key written as cert.pem and key.pem in {@code dir}; the
     * {@code tls:} section of an mxd configuration that serves them.
     */
    public static String tlsSection(Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        selfSigned(cert, key);
        return "tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n";
    }

    /** A self-signed RSA certificate of {@code bits} (1024: one mxd warns about), valid for a day. */
    public static void selfSignedRsa(Path cert, Path key, int bits) throws Exception {
        openssl("req", "-x509", "-newkey", "rsa:" + bits, "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "1", "-subj", "/CN=mx1.example.test");
    }

    /**
     * A self-signed certificate that expired yesterday: keytool can back-date (openssl req cannot),
     * openssl turns its PKCS#12 store into PEM files.
     */
    public static void expired(Path cert, Path key) throws Exception {
        Path store = key.resolveSibling(key.getFileName() + ".p12");
        run(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair", "-keyalg", "RSA",
                "-keysize", "2048", "-alias", "mx", "-dname", "CN=mx1.example.test", "-startdate", "-3d", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "changeit");
        openssl("pkcs12", "-in", store.toString(), "-passin", "pass:changeit", "-nokeys", "-out", cert.toString());
        openssl("pkcs12", "-in", store.toString(), "-passin", "pass:changeit", "-nocerts", "-nodes", "-out", key.toString());
        Files.delete(store);
    }

    /** A self-signed certificate with a DSA key, which no ECDHE suite can use. */
    public static void selfSignedDsa(Path cert, Path key) throws Exception {
        Path params = key.resolveSibling(key.getFileName() + ".params");
        openssl("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", params.toString());
        openssl("genpkey", "-paramfile", params.toString(), "-out", key.toString());
        openssl("req", "-x509", "-new", "-key", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=mx1.example.test");
        Files.delete(params);
    }

    /** A private certificate authority (CA:TRUE, keyCertSign), valid for two days, for tests that check chains (MTA-STS). */
    public static void privateCa(Path cert, Path key) throws Exception {
        privateCa(cert, key, "mxd test CA");
    }

    /** A private certificate authority (a CA:TRUE certificate and its key) named {@code cn}, valid for two days. */
    public static void privateCa(Path cert, Path key, String cn) throws Exception {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
                "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    /** A server certificate for {@code dnsName} issued by the CA of {@link #privateCa} (DANE-TA tests). */
    public static void issued(Path caCert, Path caKey, String dnsName, Path cert, Path key) throws Exception {
        issuedBy(caCert, caKey, cert, key, dnsName);
    }

    /** A server certificate issued by the private CA of {@link #privateCa}, for {@code names} (subjectAltName DNS names). */
    public static void issuedBy(Path caCert, Path caKey, Path cert, Path key, String... names) throws Exception {
        Path csr = key.resolveSibling(key.getFileName() + ".csr");
        Path ext = key.resolveSibling(key.getFileName() + ".ext");
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
                "-subj", "/CN=" + names[0]);
        Files.writeString(ext, "subjectAltName=" + String.join(",", java.util.Arrays.stream(names).map(n -> "DNS:" + n).toList())
                + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
                "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
        Files.delete(csr);
        Files.delete(ext);
    }

    /** Runs openssl with these arguments; fails the test when it does not succeed within a minute. */
    public static void openssl(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        run(cmd);
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    public static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return ctx;
    }
}
