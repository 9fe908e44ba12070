#!/usr/bin/env python3
"""Aggregates a JFR recording's execution samples: the top frames (self time) and the
mxd methods on the stack (total time), from `jfr print --json --events jdk.ExecutionSample`.
Usage: bench/jfr-top.py RECORDING.jfr [TOP]"""
import collections, json, subprocess, sys

rec, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
out = subprocess.run(["jfr", "print", "--json", "--events", "jdk.ExecutionSample", rec],
                     capture_output=True, text=True, check=True).stdout
events = json.loads(out)["recording"]["events"]
self_t, total, threads = collections.Counter(), collections.Counter(), collections.Counter()

def name(f):
    m = f["method"]
    return m["type"]["name"] + "." + m["name"]

for e in events:
    frames = e["values"]["stackTrace"]["frames"] if e["values"].get("stackTrace") else []
    if not frames:
        continue
    self_t[name(frames[0])] += 1
    seen = set()
    for f in frames:
        n = name(f)
        if n not in seen and (n.startswith("dev.mxd") or "force" in n or "Files.move" in n):
            total[n] += 1
            seen.add(n)
    t = e["values"].get("sampledThread") or {}
    tn = t.get("javaName") or t.get("osName") or "?"
    threads[tn.rstrip("0123456789-")] += 1

n = len(events)
print(f"{n} execution samples")
print("\n-- threads --")
for k, v in threads.most_common(10):
    print(f"{100*v/n:5.1f}%  {k}")
print("\n-- self (top frame) --")
for k, v in self_t.most_common(top):
    print(f"{100*v/n:5.1f}%  {k}")
print("\n-- total (on the stack): mxd methods --")
for k, v in total.most_common(top):
    print(f"{100*v/n:5.1f}%  {k}")
