package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * One server serving a parent zone and its child: the DS of the child is the parent's data (RFC 4035
 * §3.1.4.1), so the parent answers it; every other question at the child's apex is the child's.
 */
class ParentAndChildTest {

    @Test
    void theParentAnswersTheChildsDsAndTheChildEverythingElse(@TempDir Path dir) throws Exception {
        Path parent = Files.writeString(dir.resolve("parent.zone"), """
                $ORIGIN parent.test.
                $TTL 3600
                @ SOA ns hostmaster 1 3600 600 86400 300
                @ NS ns
                ns A 127.0.0.1
                child NS ns.child
                child DS 12345 13 2 4f3a2d1c0b9e8d7c6b5a49382716051f4e3d2c1b0a99887766554433221100ff
                ns.child A 127.0.0.1
                """);
        Path child = Files.writeString(dir.resolve("child.zone"), """
                $ORIGIN child.parent.test.
                $TTL 3600
                @ SOA ns hostmaster 1 3600 600 86400 300
                @ NS ns
                @ MX 10 mx
                ns A 127.0.0.1
                mx A 127.0.0.2
                """);
        QueryResponder responder = new QueryResponder(new Zones(List.of(ServedZone.load(parent), ServedZone.load(child))));

        Message ds = SignedAnswersTest.ask(responder, "child.parent.test", Type.DS, false, 4096, QueryResponder.Transport.TCP);
        assertThat(ds.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(ds.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(ds.getSection(Section.ANSWER)).singleElement().satisfies(r -> assertThat(r.getType()).isEqualTo(Type.DS));

        Message mx = SignedAnswersTest.ask(responder, "child.parent.test", Type.MX, false, 4096, QueryResponder.Transport.TCP);
        assertThat(mx.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(mx.getSection(Section.ANSWER)).singleElement().satisfies(r -> assertThat(r.getType()).isEqualTo(Type.MX));
    }
}
