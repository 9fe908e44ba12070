package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import org.junit.jupiter.api.Test;

/**
 * The 452 replies that tell a client to send the rest of its recipients in another transaction (past max-recipients;
 * a domain of another filter policy) are no errors up to {@link ClientErrors#RECIPIENT_OVERSHOOT} of them, and each one
 * after counts, so a client sending RCPT for ever reaches the error limit (defaults: 10 before the delay, 20 in all).
 */
class ClientErrorsTest {

    @Test
    void recipientRepliesPastTheOvershootCountAsErrorsOfEitherKind() {
        for (SmtpReply reply : new SmtpReply[] {Replies.TOO_MANY_RECIPIENTS, Replies.OTHER_FILTER_POLICY}) {
            ClientErrors errors = new ClientErrors(Limits.DEFAULTS);
            for (int i = 0; i < ClientErrors.RECIPIENT_OVERSHOOT; i++) {
                assertThat(errors.count(false, reply)).isEqualTo(ClientErrors.Verdict.ANSWER);
            }
            assertThat(errors.errors()).isZero();
            for (int i = 0; i < 10; i++) {
                assertThat(errors.count(false, reply)).isEqualTo(ClientErrors.Verdict.ANSWER);
            }
            assertThat(errors.count(false, reply)).as(reply.toString()).isEqualTo(ClientErrors.Verdict.DELAY);
            for (int i = 0; i < 8; i++) {
                errors.count(false, reply);
            }
            assertThat(errors.count(false, reply)).isEqualTo(ClientErrors.Verdict.DISCONNECT);
            errors.delivered(); // a message stored: the counts start again
            assertThat(errors.count(false, reply)).isEqualTo(ClientErrors.Verdict.ANSWER);
        }
    }
}
