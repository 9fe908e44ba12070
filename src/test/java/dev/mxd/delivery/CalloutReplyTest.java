package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.SmtpReply;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which refusals of a callout's RCPT say that the recipient does not exist (550 and a cached
 * refusal at the backup) and which only that the primary refuses this node now (450, not kept):
 * a block list or rate limit on the backup's address must never turn real users into 550s.
 */
class CalloutReplyTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown | true",
            "550 5.1.10 Recipient address rejected: null MX                              | true",
            "553 5.1.3 bad recipient address syntax                                      | true",
            "550 5.2.1 mailbox disabled                                                  | true",
            "550 User unknown                                                            | true",
            "553 sorry, that domain isn't in my list of allowed rcpthosts                | true",
            "554 5.7.1 Client host [192.0.2.9] blocked using zen.spamhaus.org            | false",
            "550 5.7.1 Helo command rejected: Host not found                             | false",
            "553 5.1.8 Sender address rejected: Domain not found                         | false",
            "550 5.1.7 the null sender is not welcome here                              | false",
            "554 Transaction failed                                                      | false",
            "552 5.3.4 too many recipients from this client                              | false",
            "450 4.1.1 try later                                                         | false",
    })
    void onlyARefusalOfTheRecipientItselfIsARefusal(String line, boolean aboutTheRecipient) throws Exception {
        String text = line.strip();
        SmtpReply reply = SmtpReply.of(Integer.parseInt(text.substring(0, 3)), List.of(text.substring(4)));
        assertThat(RecipientCallout.aboutTheRecipient(reply)).as(line).isEqualTo(aboutTheRecipient);
    }
}
