#!/usr/bin/env python3
"""Redis-side cost of the lock scripts: microseconds per acquire and per
release call, as Redis itself times them (INFO commandstats), for the scripts
of two git revisions on one throwaway redis-server, in alternating rounds so
that the machine's load weighs on both alike.

    python3 benchmarks/locks/script-cost.py [BASE_REV [NEW_REV]]   # default: main HEAD

Each batch runs CYCLES acquire->release cycles of one shape on fresh names:
a plain lock, a semaphore slot (limit 2), a plain lock with a 5 s lock delay
(a revision that predates lock_delay_ms ignores it: a plain lock again); and,
on one name, a contended semaphore (limit 4, 4 holders and 12 waiters of one
live lockd instance queued with their wishes): each cycle is a release that
hands its slot to the queue's head inside the script and a new waiter's
acquire that queues, which is what a contended semaphore's cycle costs Redis
in `benchmarks/locks/semaphores.sh`; and readers on one name (3 holding, one
granted and one released each cycle: the shared case's cycle). lockd is not involved: the scripts are
read out of Sources/LockEngine/RedisLockScript*.swift at each revision.

A revision with a Redis Functions library (RedisLockLibrary.swift) is run by
FCALL, as lockd runs it on Redis 7; EVALSHA=1 runs every revision by EVALSHA.
"""
import collections, hashlib, os, re, socket, subprocess, sys, tempfile, time

CYCLES = int(os.environ.get("CYCLES", "300"))
ROUNDS = int(os.environ.get("ROUNDS", "41"))

CONSTANTS = {
    "shardedMarker": "local sharded = false",
    "wakeupChannel": "lockd:waiting",
    "instanceIDLength": "16",
    "freshBeatMs": "250",
    "RedisLockStore.livenessWindowMs - freshBeatMs": "350",
    "RedisLockStore.livenessWindowMs": "600",
    "fenceRetentionMs": str(7 * 24 * 3_600_000),
    "instanceRetentionMs": "600000",
}


def scripts(rev):
    text = ""
    for path in ["Sources/LockEngine/RedisLockScriptPrelude.swift", "Sources/LockEngine/RedisLockScripts.swift"]:
        text += subprocess.check_output(["git", "show", f"{rev}:{path}"], text=True)
    return scripts_from_text(text)


def script_bodies(text):
    """Every script's body (and the prelude's text) by name, from the two Swift files' text."""
    found = {}
    pattern = r'static let (\w+) = (?:prelude \+ |prelude\.script\(|Script\("\w+", (?:writes: false, )?)?"""\n(.*?)"""'
    for name, body in re.findall(pattern, text, re.S):
        body = re.sub(r"\\\(([A-Za-z. -]+)\)", lambda m: CONSTANTS[m.group(1)], body)
        # (Swift's closing `"""` drops the last line break.)
        found[name] = textwrap_dedent(body.replace("\\\\", "\\")).removesuffix("\n")
    return found


def scripts_from_text(text):
    """The acquire and release scripts as Redis runs them by EVALSHA, from the two Swift files' text."""
    found = script_bodies(text)
    if "preludeText" in found:  # each script carries only the prelude functions it calls (LuaPrelude.swift)
        return {name: pruned(found["preludeText"], found[name]) for name in ("acquire", "release")}
    return {name: found["prelude"] + found[name] for name in ("acquire", "release")}


ALL_SCRIPTS = ["acquire", "renew", "release", "forceRelease", "status", "removeWaiter", "beat", "reconcile"]


def library(rev):
    """The revision's scripts as one Redis Functions library (RedisLockLibrary.swift), or None before it had one:
    (library source, {script: function name})."""
    try:
        subprocess.check_output(["git", "cat-file", "-e", f"{rev}:Sources/LockEngine/RedisLockLibrary.swift"], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        return None
    text = ""
    for path in ["Sources/LockEngine/RedisLockScriptPrelude.swift", "Sources/LockEngine/RedisLockScripts.swift"]:
        text += subprocess.check_output(["git", "show", f"{rev}:{path}"], text=True)
    found = script_bodies(text)
    code = found["preludeText"]
    for name in ALL_SCRIPTS:
        flags = ", flags = {'no-writes'}" if name == "status" else ""
        code += f"redis.register_function{{function_name = library .. '_{name}', callback = function(KEYS, ARGV)\n{found[name]}\nend{flags}}}\n"
    lib = "lockd_" + hashlib.sha1(code.encode()).hexdigest()[:16]
    return f"#!lua name={lib}\nlocal library = '{lib}'\n" + code, {name: f"{lib}_{name}" for name in ALL_SCRIPTS}


def lua_identifiers(text):
    """Identifiers outside Lua strings and comments (as LuaPrelude.identifiers)."""
    text = re.sub(r"--[^\n]*|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"", " ", text)
    return set(re.findall(r"(?<![\w])[A-Za-z_]\w*", text))


def pruned(prelude, body):
    """LuaPrelude.script: the head, then the functions `body` needs (transitively), in the prelude's order."""
    lines = prelude.split("\n")
    starts = []
    for i, line in enumerate(lines):
        if line.startswith("local function "):
            start = i
            while start > 0 and lines[start - 1].startswith("--"):
                start -= 1
            starts.append((start, re.match(r"local function (\w+)", line).group(1)))
    chunks = {name: "\n".join(lines[start:(starts[j + 1][0] if j + 1 < len(starts) else len(lines))]) + "\n"
              for j, (start, name) in enumerate(starts)}
    calls = {name: lua_identifiers(chunk) & chunks.keys() for name, chunk in chunks.items()}
    needed, pending = set(), list(lua_identifiers(body) & chunks.keys())
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += calls[name]
    head = "\n".join(lines[:starts[0][0]]) + "\n"
    return head + "".join(chunks[name] for _, name in starts if name in needed) + body


def textwrap_dedent(body):
    return "\n".join(line[8:] if line.startswith("        ") else line for line in body.split("\n"))


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(line)


def layout(rev):
    """The revision's acquire/release argument layout: "short" since wip-redis24 (token ttl name with_holders owner
    client mode limit member retention asks_wish delay nonce, trailing empties left out; release token name caller
    unclaimed …), else "long" (token ttl owner member window retention name mode limit client asks_wish with_holders
    delay; release token name unclaimed caller …)."""
    text = subprocess.check_output(["git", "show", f"{rev}:Sources/LockEngine/RedisLockScripts.swift"], text=True)
    return "short" if "local token, ttl, name, with_holders = ARGV[1]" in text else "long"


def acquire_args(shas, token, name, member="", retention=2000, mode="x", limit=1, asks_wish="", with_holders="1",
                 delay=""):
    """The acquire call's arguments (after its keys) in the layout of the revision `shas` holds (ttl 30000, no owner,
    no client)."""
    if shas["layout"] == "long":
        return [token, 30000, "", member, 600, retention, name, mode, limit, "", asks_wish, with_holders, delay]
    args = [token, 30000, name, with_holders, "", "", mode, limit, member, retention, asks_wish, delay]
    # As lockd writes them: up to the last one set.
    last = 12 if delay else 11 if asks_wish else 10 if member else 8 if (mode, limit) != ("x", 1) else 4 if with_holders else 3
    return args[:last]


def release_args(shas, token, name, caller=""):
    if shas["layout"] == "long":
        return [token, name, "", caller] if caller else [token, name]
    return [token, name, caller] if caller else [token, name]


def keys(name):
    return [f"lockd:{{{name}}}:{k}" for k in ("lease", "fence", "waiters")] + ["lockd:instances"] + \
        [f"lockd:{{{name}}}:{k}" for k in ("holders", "grants", "wishes")]


def run(r, shas, label, limit, delay, stats):
    for i in range(CYCLES):
        name, token = f"bench:{label}:{time.monotonic_ns()}:{i}", f"tok{i:019d}"
        r.send(*shas["acquire"], 7, *keys(name), *acquire_args(shas, token, name, limit=limit, delay=delay or ""))
        r.send(*shas["release"], 7, *keys(name), *release_args(shas, token, name))


INSTANCE = "abcdefghijklmnop"  # a lockd instance id: 16 characters


def run_contended(r, shas, label):
    """CYCLES cycles of a contended semaphore (see the module's doc)."""
    name = f"bench:{label}:{time.monotonic_ns()}"
    k = keys(name)
    r.send("ZADD", "lockd:instances", int(r.send("TIME")[0]) * 1000 + 600000, INSTANCE)
    holders, queue, seq = collections.deque(), collections.deque(), [0]

    def acquire(member):
        seq[0] += 1
        token = f"tok{seq[0]:019d}"
        reply = r.send(*shas["acquire"], 7, *k, *acquire_args(shas, token, name, member=member, retention=7000, limit=4,
                                                               asks_wish="1" if member else "", with_holders=""))
        assert reply[0] == ("0" if member else "1"), reply
        return token

    def waiter():
        member = f"{INSTANCE}:w{seq[0]:08d}:4"
        queue.append(acquire(member))

    for _ in range(4):
        holders.append(acquire(""))
    for _ in range(12):
        waiter()
    r.send("CONFIG", "RESETSTAT")
    for _ in range(CYCLES):
        # Released by the waiters' own instance (a revision with in-reply
        # hand-overs answers {1, message}; older ones ignore the argument).
        reply = r.send(*shas["release"], 7, *k, *release_args(shas, holders.popleft(), name, INSTANCE))
        assert reply == "1" or reply[0] == "1", reply
        holders.append(queue.popleft())  # granted by the release
        waiter()
    calls, usec = commandstats(r)
    assert r.send("ZCARD", k[4]) == "4" and r.send("ZCARD", k[2]) == "12" and r.send("HEXISTS", k[5], holders[-1]) == "1"
    r.send("DEL", *k)
    return calls, usec


def run_shared(r, shas, label):
    """CYCLES cycles of readers on one name (semaphores.sh's shared case): 3
    readers hold it, each cycle a reader that may wait (a waiter id, with its
    wish) is granted at once and the oldest reader releases; nobody queues."""
    name = f"bench:{label}:{time.monotonic_ns()}"
    k = keys(name)
    r.send("ZADD", "lockd:instances", int(r.send("TIME")[0]) * 1000 + 600000, INSTANCE)
    held, seq = collections.deque(), [0]

    def acquire():
        seq[0] += 1
        token = f"tok{seq[0]:019d}"
        reply = r.send(*shas["acquire"], 7, *k, *acquire_args(shas, token, name, member=f"{INSTANCE}:r{seq[0]:08d}:s",
                                                               retention=7000, mode="s", asks_wish="1", with_holders=""))
        assert reply[0] == "1", reply
        held.append(token)

    for _ in range(3):
        acquire()
    r.send("CONFIG", "RESETSTAT")
    for _ in range(CYCLES):
        acquire()
        reply = r.send(*shas["release"], 7, *k, *release_args(shas, held.popleft(), name, INSTANCE))
        assert reply == "1", reply
    calls, usec = commandstats(r)
    r.send("DEL", *k)
    return calls, usec


def commandstats(r):
    info = r.send("INFO", "commandstats")
    calls = usec = 0
    for m in re.finditer(r"cmdstat_(?:evalsha|fcall):calls=(\d+),usec=(\d+)", info):
        calls, usec = calls + int(m.group(1)), usec + int(m.group(2))
    return calls, usec


def main():
    base, new = (sys.argv[1:] + ["main", "HEAD"])[:2] if len(sys.argv) > 1 else ("main", "HEAD")
    # A port the kernel says is free now (one taken from the PID could be
    # another process's, whose Redis would then answer the PING).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", workdir], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                r = Redis(port)
                r.send("PING")
                break
            except OSError:
                time.sleep(0.05)
        # The contended semaphore's lockd listens for wake-ups (see `ready_for_grant`).
        listener = Redis(port)
        listener.send("SUBSCRIBE", f"lockd:waiting:{INSTANCE}")
        # Each revision's calls: FCALL where it has a library (unless EVALSHA=1), else EVALSHA.
        loaded = {}
        for rev in (base, new):
            lib = None if os.environ.get("EVALSHA") == "1" else library(rev)
            if lib:
                r.send("FUNCTION", "LOAD", "REPLACE", lib[0])
                loaded[rev] = {k: ("FCALL", lib[1][k]) for k in ("acquire", "release")}
            else:
                loaded[rev] = {k: ("EVALSHA", r.send("SCRIPT", "LOAD", v)) for k, v in scripts(rev).items()}
            loaded[rev]["layout"] = layout(rev)
        shapes = [("plain", 1, 0), ("semaphore", 2, 0), ("plain+delay", 1, 5000)]
        batches = {}
        # Many short batches, the revisions alternating within each shape;
        # the median batch is the figure (a busy moment spoils a batch, not the run).
        for _ in range(ROUNDS):
            for label, limit, delay in shapes:
                for rev in (base, new):
                    r.send("CONFIG", "RESETSTAT")
                    run(r, loaded[rev], label, limit, delay, None)
                    calls, usec = commandstats(r)
                    batches.setdefault((rev, label), []).append(usec / calls)
            for rev in (base, new):
                calls, usec = run_contended(r, loaded[rev], "contended")
                batches.setdefault((rev, "contended"), []).append(usec / calls)
                calls, usec = run_shared(r, loaded[rev], "shared")
                batches.setdefault((rev, "shared"), []).append(usec / calls)
        median = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"Redis usec per script call (acquire and release averaged), median of {ROUNDS} batches x {CYCLES} cycles; "
              f"load {os.getloadavg()[0]:.1f}")
        for label in [shape[0] for shape in shapes] + ["contended", "shared"]:
            b, n = median(batches[(base, label)]), median(batches[(new, label)])
            print(f"{label:12}  {base}: {b:6.2f}  {new}: {n:6.2f}  {new}/{base} {n / b:.3f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
