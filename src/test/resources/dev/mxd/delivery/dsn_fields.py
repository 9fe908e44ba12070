"""Reads one delivery status notification with Python's own email package and prints, as JSON,
what it found: the top-level header fields, each MIME part's type and transfer encoding, the
fields of the delivery-status part (per message, then per recipient), the returned message's
header fields, and every defect the parser noticed. DsnPeerTest runs it on DSNs mxd wrote to a
Maildir, so that mxd's output is checked by a parser mxd did not write."""
import email
import email.header
import email.parser
import email.policy
import json
import re
import sys


def text(value):
    """A header value as str, unfolded (RFC 5322 §2.2.3). The compat32 parser hands back a field with 8-bit octets (RFC 6532
    UTF-8) as a Header of charset unknown-8bit: its octets are taken back and read as UTF-8."""
    if value is None:
        return None
    if isinstance(value, email.header.Header):
        s = b"".join(b if isinstance(b, bytes) else b.encode("ascii")
                     for b, _ in email.header.decode_header(value)).decode("utf-8")
    else:
        s = str(value).encode("ascii", "surrogateescape").decode("utf-8")
    return re.sub(r"\r?\n(?=[ \t])", "", s)


def body(message):
    """A returned message's body as text (UTF-8, or replacement characters where it is not)."""
    if message.is_multipart():
        return None
    return (message.get_payload(decode=True) or b"").decode("utf-8", "replace")


def blocks(part):
    """The field groups of a delivery-status part (RFC 3464 §2.1), each a dict."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status":
        # The package parses this type itself: one Message per group.
        return [{k: text(v) for k, v in m.items()} for m in payload]
    # message/global-delivery-status (RFC 6533): the package sees a message/*; its first
    # group is that message's header, the rest its body, parsed here group by group.
    first = payload[0]
    groups = [{k: text(v) for k, v in first.items()}]
    rest = first.get_payload(decode=True) or b""
    for chunk in rest.replace(b"\r\n", b"\n").split(b"\n\n"):
        if chunk.strip():
            m = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(chunk + b"\n")
            groups.append({k: text(v) for k, v in m.items()})
    return groups


def main(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    out = {"defects": [], "headers": {}, "parts": [], "status": [], "returned": None}
    for k in ("From", "To", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Transfer-Encoding"):
        out["headers"][k] = text(msg.get(k))
    out["headers"]["type"] = msg.get_content_type()
    out["headers"]["report-type"] = msg.get_param("report-type")
    for part in msg.walk():
        out["defects"] += [type(d).__name__ for d in part.defects]
    if not msg.is_multipart():
        print(json.dumps(out))
        return
    for part in msg.get_payload():
        ctype = part.get_content_type()
        info = {"type": ctype, "cte": part.get("Content-Transfer-Encoding"), "charset": part.get_content_charset()}
        out["parts"].append(info)
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            out["status"] = blocks(part)
        elif ctype == "text/plain":
            info["text"] = part.get_payload(decode=True).decode(part.get_content_charset() or "ascii")
        elif ctype in ("message/rfc822", "message/global", "message/global-headers"):
            inner = part.get_payload()[0]
            out["returned"] = {"headers": {k: text(v) for k, v in inner.items()},
                               "body": body(inner)}
        elif ctype == "text/rfc822-headers":
            inner = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
                part.get_payload(decode=True))
            out["returned"] = {"headers": {k: text(v) for k, v in inner.items()}, "body": None}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
