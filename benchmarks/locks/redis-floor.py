#!/usr/bin/env python3
"""The Redis floor under a lockd cycle: lockd's own script calls, replayed.

  redis-floor.py capture REDIS_PORT LOCKD_URL   > calls.json
      Watches Redis with MONITOR while lockd serves one acquire and one
      release, and keeps the script call each made — FCALL where Redis has
      functions (lockd loaded the library, so the replay finds it), else
      EVALSHA (an EVAL is turned into EVALSHA after SCRIPT LOAD) — with the
      lock name and token marked.
  redis-floor.py acquire-args calls.json TAG     one redis-benchmark arg per line
  redis-floor.py release-args calls.json TAG     (names become TAG__rand_int__)
  redis-floor.py hold calls.json TAG COUNT       RESP for redis-cli --pipe: the
      acquire call for names TAG000000000000 … TAG(COUNT-1), zero-padded to 12
      digits like redis-benchmark's __rand_int__, so the release replay finds
      leases to delete.

Replaying the captured calls (rather than copies of the Lua sources) keeps
the floor honest when lockd's scripts or arguments change.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

NAME, TOKEN = "{NAME}", "{TOKEN}"
FIXED_TOKEN = "redisFloorToken0000000000000000"  # 31 chars of [A-Za-z0-9_-]


def unquote(text):
    """Decodes one MONITOR argument ("..." with C-like escapes)."""
    out, i = bytearray(), 0
    escapes = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, '"': 34, "\\": 92}
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out.append(escapes.get(n, ord(n)))
            i += 2
            continue
        out += c.encode()
        i += 1
    return out.decode("utf-8", "replace")


def parse_monitor(line):
    return [unquote(m) for m in re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("]", 1)[-1])]


def capture(redis_port, lockd_url):
    name = "floorprobe-" + os.urandom(4).hex()
    monitor = subprocess.Popen(["redis-cli", "-p", redis_port, "monitor"], stdout=subprocess.PIPE, text=True)
    lines = []
    ready = threading.Event()

    def read():
        for line in monitor.stdout:
            if line.strip() == "OK":
                ready.set()
            else:
                lines.append(parse_monitor(line))

    threading.Thread(target=read, daemon=True).start()
    ready.wait(5)
    url = urllib.parse.urlsplit(lockd_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", f"/locks/{name}", '{"ttl_ms":30000}', {"Content-Type": "application/json"})
    response = conn.getresponse()
    lease = json.loads(response.read())
    assert response.status == 201, response.status
    time.sleep(0.3)
    split = len(lines)
    conn.request("DELETE", f"/locks/{name}", headers={"Lock-Token": lease["token"]})
    response = conn.getresponse()
    response.read()
    assert response.status == 204, response.status
    time.sleep(0.3)
    monitor.terminate()
    monitor.wait()

    def script_call(commands):
        for args in commands:
            if args and args[0].upper() in ("FCALL", "EVALSHA", "EVAL") and any(name in a for a in args):
                if args[0].upper() == "EVAL":
                    sha = subprocess.run(["redis-cli", "-p", redis_port, "SCRIPT", "LOAD", args[1]],
                                         capture_output=True, text=True, check=True).stdout.strip()
                    args = ["EVALSHA", sha] + args[2:]
                return [a.replace(name, NAME).replace(lease["token"], TOKEN) for a in args]
        sys.exit(f"no script call naming {name} seen by MONITOR; lockd's Redis calls: {commands[:5]}")

    json.dump({"acquire": script_call(lines[:split]), "release": script_call(lines[split:])}, sys.stdout)


def filled(args, name):
    return [a.replace(NAME, name).replace(TOKEN, FIXED_TOKEN) for a in args]


def resp(args):
    parts = [f"*{len(args)}\r\n"]
    for a in args:
        b = a.encode()
        parts.append(f"${len(b)}\r\n{a}\r\n")
    return "".join(parts)


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "capture":
        capture(sys.argv[2], sys.argv[3])
    elif command in ("acquire-args", "release-args"):
        calls = json.load(open(sys.argv[2]))
        print("\n".join(filled(calls[command.split("-")[0]], sys.argv[3] + "__rand_int__")))
    elif command == "hold":
        calls = json.load(open(sys.argv[2]))
        tag, count = sys.argv[3], int(sys.argv[4])
        out = sys.stdout
        for i in range(count):
            out.write(resp(filled(calls["acquire"], f"{tag}{i:012d}")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
