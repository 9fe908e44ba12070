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
}
