# Flood an mxd dns on 127.0.0.1:PORT from 127.0.0.2 for SECONDS: junk and valid TXT queries;
# meanwhile 127.0.1.3 asks MX queries one at a time. Prints counts and bytes.
import os, random, socket, struct, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
server = ("127.0.0.1", port)
def q(name, qtype, qid):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", qtype, 1)
stats = {"sent": 0, "sent_bytes": 0, "replies": 0, "reply_bytes": 0, "tc": 0, "other_ok": 0, "other_asked": 0}
stop = time.time() + seconds
def flood():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0)); s.setblocking(False)
    rnd = random.Random(16); i = 0
    while time.time() < stop:
        i += 1
        pkts = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 60))), b"\1\2\3",
                struct.pack("!HHHHHH", i & 0xFFFF, 0x0300, 1, 0, 0, 0) + b"\3srv\4",
                struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1",
                q("srv.test", 16, i & 0xFFFF)]
        for p in pkts:
            try:
                s.sendto(p, server); stats["sent"] += 1; stats["sent_bytes"] += len(p)
            except BlockingIOError:
                pass
        while True:
            try:
                r = s.recv(4096)
            except BlockingIOError:
                break
            stats["replies"] += 1; stats["reply_bytes"] += len(r)
            if r[2] & 2: stats["tc"] += 1
def other():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.1.3", 0)); s.settimeout(2)
    i = 0
    while time.time() < stop:
        i += 1; stats["other_asked"] += 1
        s.sendto(q("srv.test", 15, i), server)
        try:
            r = s.recv(4096)
            if struct.unpack("!H", r[6:8])[0] == 4: stats["other_ok"] += 1
        except socket.timeout:
            pass
        time.sleep(0.05)
t1 = threading.Thread(target=flood); t2 = threading.Thread(target=other); t1.start(); t2.start(); t1.join(); t2.join()
print(" ".join(f"{k}={v}" for k, v in stats.items()))
