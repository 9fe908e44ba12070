package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.FreePort;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServeCommandTest {

    private static String[] run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {String.valueOf(code), err.toString()};
    }

    @Test
    void missingConfigFileExits78(@TempDir Path dir) {
        String[] r = run("serve", "--config", dir.resolve("nope.yaml").toString());
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains("nope.yaml").contains("no such file");
    }

    @Test
    void invalidConfigExits78WithFileAndLine(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("mxd.yaml"), "hostname: mx.test\nlimits:\n  max-recipents: 5\n");
        String[] r = run("serve", "--config", f.toString());
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains(f + ":3: unknown key 'max-recipents'");
    }

    @Test
    void aMaildirOwnerThatDoesNotExistExits78BeforeAnythingOpens(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        Path f = Files.writeString(dir.resolve("mxd.yaml"), "hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + "data-dir: " + dir.resolve("data") + "\ndelivery:\n  maildir-owner: no-such-user-mxd\n");
        String[] r = run("serve", "--config", f.toString());
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains("invalid configuration: delivery.maildir-owner").contains("no-such-user-mxd");
        assertThat(dir.resolve("data/spool")).doesNotExist();
    }

    /**
     * mxd serve --check (postfix check): what a start would refuse is found without starting, so
     * that systemctl reload (ExecReload runs it first) fails visibly instead of a SIGHUP whose
     * refusal only the log shows. Nothing is bound or written.
     */
    @Test
    void checkFindsWhatAStartWouldRefuseAndStartsNothing(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        String base = "hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\ndata-dir: " + dir.resolve("data") + "\n";
        Path good = Files.writeString(dir.resolve("good.yaml"), base);
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        assertThat(cl.execute("serve", "--config", good.toString(), "--check")).isZero();
        assertThat(out.toString()).contains("mxd serve: " + good + " is valid: 0 domain(s), no STARTTLS");
        assertThat(dir.resolve("data")).as("nothing made").doesNotExist();
        try (java.net.ServerSocket free = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            assertThat(free.getLocalPort()).as("nothing bound").isEqualTo(port);
        }

        // what a start would warn of is said by the check too (it runs before a reload, where an operator sees it)
        Path sloppy = Files.writeString(dir.resolve("sloppy.yaml"), base + "trusted-networks: [\"192.168.1.1/24\"]\n");
        String[] w = run("serve", "--config", sloppy.toString(), "--check");
        assertThat(w[0]).isEqualTo("0");
        assertThat(w[1]).contains("mxd serve: warning: trusted-networks: 192.168.1.1/24 has bits set past its prefix")
                .contains("192.168.1.0/24");
        // more sessions and deliveries than this process may open files for: at the limit clients are refused (EMFILE)
        long files = ((com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getMaxFileDescriptorCount();
        Path many = Files.writeString(dir.resolve("many.yaml"), base + "limits:\n  max-connections: " + files + "\n");
        String[] m = run("serve", "--config", many.toString(), "--check");
        assertThat(m[0]).isEqualTo("0");
        assertThat(m[1]).contains("mxd serve: warning: this process may open " + files + " files at once, and limits.max-connections "
                + files + " with delivery.concurrency 100 may need some " + (2 * files + 300 + 256), "LimitNOFILE=");
        assertThat(run("serve", "--config", good.toString(), "--check")[1]).as("the defaults fit").doesNotContain("files at once");
        // and so are the certificate's: an expired one, a short RSA key (a start logs them as TLS warnings)
        Path old = dir.resolve("old.pem");
        Path oldKey = dir.resolve("old-key.pem");
        dev.mxd.testing.Certificates.expired(old, oldKey);
        Path expired = Files.writeString(dir.resolve("expired.yaml"), base + "tls:\n  certificate: " + old + "\n  private-key: " + oldKey + "\n");
        String[] e = run("serve", "--config", expired.toString(), "--check");
        assertThat(e[0]).isEqualTo("0");
        assertThat(e[1]).contains("mxd serve: warning: tls: ").contains("expired on");
        Path weak = dir.resolve("weak.pem");
        Path weakKey = dir.resolve("weak-key.pem");
        dev.mxd.testing.Certificates.selfSignedRsa(weak, weakKey, 1024);
        Path shortKey = Files.writeString(dir.resolve("short.yaml"), base + "tls:\n  certificate: " + weak + "\n  private-key: " + weakKey + "\n");
        assertThat(run("serve", "--config", shortKey.toString(), "--check")[1]).contains("mxd serve: warning: tls: ").contains("1024 bits");

        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        dev.mxd.testing.Certificates.selfSigned(cert, key);
        Path otherKey = dir.resolve("other.pem");
        dev.mxd.testing.Certificates.selfSigned(dir.resolve("other-cert.pem"), otherKey);
        Path wrongKey = Files.writeString(dir.resolve("wrong.yaml"), base + "tls:\n  certificate: " + cert + "\n  private-key: " + otherKey + "\n");
        String[] r = run("serve", "--config", wrongKey.toString(), "--check");
        assertThat(r[0]).isEqualTo("78");
        // named by the file and line of tls.private-key, the key that does not belong to the certificate
        assertThat(r[1]).contains("invalid configuration: " + wrongKey + ":7: tls: " + otherKey, "is not the key of the certificate");
        Path owner = Files.writeString(dir.resolve("owner.yaml"), base + "delivery:\n  maildir-owner: no-such-user-mxd\n");
        r = run("serve", "--config", owner.toString(), "--check");
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains("no-such-user-mxd");

        // a spool/ a start could not write, inside a data directory it could (after a start as root, say; staged with
        // chattr +i, which stops root too)
        Path spool = Files.createDirectories(dir.resolve("data/spool"));
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", java.util.List.of(spool)),
                "chattr +i needs root on a file system with attributes");
        try {
            r = run("serve", "--config", good.toString(), "--check");
            assertThat(r[0]).isEqualTo("78");
            assertThat(r[1]).contains("invalid configuration: data-dir: " + spool + " cannot be written");
        } finally {
            assertThat(dev.mxd.testing.Chattr.change("-i", java.util.List.of(spool))).isTrue();
        }
    }
    /**
     * A CA file without a certificate and an admin token file that cannot be one are settings, refused by
     * --check and at start with 78 (the start said 75, so systemd restarted it every 5 s); nothing is made.
     */
    @Test
    void aCaFileOrAdminTokenAStartCannotUseIsRefusedByCheckAndStartWith78(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        int admin = FreePort.tcpOn("127.0.0.1");
        String base = "hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\n  admin: \"127.0.0.1:" + admin + "\"\n"
                + "data-dir: " + dir.resolve("data") + "\n";
        Path emptyCa = Files.writeString(dir.resolve("empty-ca.pem"), "");
        Path tokenDir = Files.createDirectory(dir.resolve("token.d"));
        Path twoWords = Files.writeString(dir.resolve("two.token"), "two words\n");
        java.util.Map<String, String> cases = java.util.Map.of(
                "delivery:\n  tls:\n    ca-file: " + emptyCa + "\n", "delivery.tls.ca-file: " + emptyCa + " holds no PEM certificate",
                "admin-token-file: " + tokenDir + "\n", "admin-token-file: " + tokenDir + " is a directory",
                "admin-token-file: " + twoWords + "\n", "admin-token-file: " + twoWords + ": the admin token must be one line");
        for (var c : cases.entrySet()) {
            Path f = Files.writeString(dir.resolve("mxd.yaml"), base + c.getKey());
            for (boolean check : new boolean[] {true, false}) {
                String[] r = check ? run("serve", "--config", f.toString(), "--check") : run("serve", "--config", f.toString());
                assertThat(r[0]).as("%s%s", check ? "--check " : "", c.getKey()).isEqualTo("78");
                assertThat(r[1]).contains("invalid configuration: " + c.getValue());
            }
            assertThat(dir.resolve("data/spool")).as("nothing started").doesNotExist();
        }

        // a listener off loopback takes a token the operator made, not one mxd makes up
        Path absent = dir.resolve("absent.token");
        Path open = Files.writeString(dir.resolve("open.yaml"), base.replace("admin: \"127.0.0.1:", "admin: \"0.0.0.0:")
                + "admin-token-file: " + absent + "\n");
        String[] r = run("serve", "--config", open.toString(), "--check");
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains("admin-token-file: " + absent + " does not exist");
        assertThat(absent).doesNotExist();
        Files.createFile(absent); // an empty file is no token either: a start would write one in its place
        r = run("serve", "--config", open.toString(), "--check");
        assertThat(r[0]).isEqualTo("78");
        assertThat(r[1]).contains("admin-token-file: " + absent + " is empty");
    }
    /**
     * What --check passed and the start then refused: a log.file that is a directory (78, with a hint about
     * permissions), a file where the data directory keeps spool/ (75, "cannot start: PATH" and nothing else).
     */
    @Test
    void aLogFileThatIsADirectoryAndAFileWhereTheSpoolGoesAreRefusedByCheckAndStart(@TempDir Path dir) throws Exception {
        int port = FreePort.tcpOn("127.0.0.1");
        String base = "hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\ndata-dir: " + dir.resolve("data") + "\n";
        Path logDir = Files.createDirectory(dir.resolve("logs"));
        Path logIsDir = Files.writeString(dir.resolve("log.yaml"), base + "log:\n  file: " + logDir + "\n");
        for (boolean check : new boolean[] {true, false}) {
            String[] r = check ? run("serve", "--config", logIsDir.toString(), "--check") : run("serve", "--config", logIsDir.toString());
            assertThat(r[0]).isEqualTo("78");
            assertThat(r[1]).contains(logDir + " is a directory");
        }
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/spool"), "not a directory");
        Path spoolIsFile = Files.writeString(dir.resolve("spool.yaml"), base);
        for (boolean check : new boolean[] {true, false}) {
            String[] r = check ? run("serve", "--config", spoolIsFile.toString(), "--check") : run("serve", "--config", spoolIsFile.toString());
            assertThat(r[0]).as(check ? "--check" : "serve").isEqualTo("78");
            assertThat(r[1]).contains("data-dir: " + dir.resolve("data/spool") + " is a file where mxd keeps a directory");
        }
    }

    /** With log.file, a start that fails says so in the log too, not only on stderr: the log is what monitoring reads. */
    @Test
    void aFailedStartIsInTheLogFile(@TempDir Path dir) throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Path log = dir.resolve("mxd.log");
            Path f = Files.writeString(dir.resolve("mxd.yaml"), "hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:"
                    + taken.getLocalPort() + "\"]\ndata-dir: " + dir.resolve("data") + "\nlog:\n  file: " + log + "\n");
            String[] r = run("serve", "--config", f.toString());
            assertThat(r[0]).isEqualTo("75");
            assertThat(Files.readString(log)).contains("mxd starting as mx.test").contains("mxd serve: cannot start:")
                    .contains(String.valueOf(taken.getLocalPort()));
        } finally {
            dev.mxd.testing.TestLogging.restoreDefault(); // the rest of the run logs where it did
        }
    }
}
