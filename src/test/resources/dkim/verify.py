"""Verifies the DKIM signature of the message on stdin with dkimpy, the public key given as argv[1]
(base64 of the SubjectPublicKeyInfo) instead of a DNS lookup. Exit 0: valid; 1: not valid."""
import sys

import dkim


def main():
    record = ("v=DKIM1; k=rsa; p=" + sys.argv[1]).encode("ascii")
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return record

    message = sys.stdin.buffer.read()
    ok = dkim.verify(message, dnsfunc=dnsfunc)
    print("asked " + " ".join(n.decode("ascii") if isinstance(n, bytes) else n for n in asked))
    print("valid" if ok else "invalid")
    sys.exit(0 if ok else 1)


main()
