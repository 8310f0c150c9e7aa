#!/usr/bin/env python3
"""HTTP benchmark: lockd's server against nginx, Hummingbird and FlyingFox,
in plaintext and over TLS.

In one run on this machine, interleaved over several rounds (medians
reported), with `wrk -t2 -c64 -d10s --latency`:

- plaintext keep-alive: nginx, lockd, Hummingbird, FlyingFox — and, with
  --baseline, a second lockd-http-bench built from another commit (main);
- TLS keep-alive (wrk over https): lockd beside nginx serving the same
  certificate (ECDSA P-256) with the same protocol versions and ciphers
  (OpenSSL's defaults: both negotiate TLS 1.3, TLS_AES_256_GCM_SHA384, X25519);
- TLS handshakes: the same with `Connection: close`, so every request is a
  new connection and a full handshake (wrk resumes no sessions);

then holds idle keep-alive connections on lockd and nginx, plaintext and TLS,
and reads their RSS; and last counts, with callgrind, the instructions each
server executes per request (lockd, main's lockd, nginx; plaintext, TLS, and
a new TLS connection per request) — figures that the machine's other load
does not move. Writes benchmarks/http/RESULTS.md.

    python3 benchmarks/http/run.py [--rounds 3] [--duration 10] [--idle 10000] [--idle-tls 2000]
        [--baseline PATH/lockd-http-bench]

To compare with main, build main's lockd-http-bench apart first:
    git -C /work/main archive main | tar -x -C /tmp/base
    (cd /tmp/base && swift build -c release --product lockd-http-bench --scratch-path /tmp/base/.build-base)
    python3 benchmarks/http/run.py --baseline /tmp/base/.build-base/release/lockd-http-bench

Needs wrk, nginx and openssl (apt-get install -y wrk nginx openssl), and
valgrind for the instruction counts (skipped without it, or with
--no-instructions). The
Hummingbird and FlyingFox anchors are built in release mode from a copy of
../shared/anchors/http-anchors in /tmp (about 8 minutes the first time).
"""
import argparse, os, re, resource, shutil, signal, socket, ssl, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# ../shared/anchors beside the repository (or beside a worktree's parent folder).
ANCHORS = os.environ.get("LOCKD_ANCHORS") or next(
    (path for path in (os.path.join(os.path.dirname(ROOT), "shared", "anchors"),
                       os.path.join(os.path.dirname(os.path.dirname(ROOT)), "shared", "anchors")) if os.path.isdir(path)),
    os.path.join(os.path.dirname(ROOT), "shared", "anchors"))
ANCHOR_BUILD = "/tmp/http-anchors"
RESULTS = os.path.join(ROOT, "benchmarks", "http", "RESULTS.md")

PORTS = {"nginx": 18080, "FlyingFox": 18081, "Hummingbird": 18082, "lockd": 18083, "lockd (main)": 18084,
         "nginx TLS": 18443, "lockd TLS": 18444}

# The anchors' nginx.conf serves plaintext on 18080; this server block adds
# the same answer over TLS, with the certificate lockd gets.
NGINX_TLS_SERVER = """
    server {
        listen 127.0.0.1:18443 ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers DEFAULT;
        location /locks/ {
            default_type application/json;
            return 200 '{"name":"bench-lock","token":"6f1c2a9e-3b7d-4c8e-9a51-0d2f7e4b8c13","fence":1048576,"ttl_ms":30000,"expires_at":"2026-01-01T00:00:30.000Z","ok":true}';
        }
        location /healthz {
            default_type text/plain;
            return 200 'ok\\n';
        }
    }
"""


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build():
    run(["swift", "build", "-c", "release", "--product", "lockd-http-bench"], cwd=ROOT)
    if not os.path.exists(os.path.join(ANCHOR_BUILD, ".build/release/hb-hello")):
        if not os.path.exists(ANCHOR_BUILD):
            shutil.copytree(os.path.join(ANCHORS, "http-anchors"), ANCHOR_BUILD)
            run(["chmod", "-R", "u+w", ANCHOR_BUILD])
        run(["swift", "build", "-c", "release"], cwd=ANCHOR_BUILD)


def make_certificates(prefix):
    """A CA and a server certificate for 127.0.0.1 it signed (ECDSA P-256, like the tests')."""
    d = os.path.join(prefix, "tls")
    os.makedirs(d)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509"] + key + ["-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2",
                    "-subj", "/CN=bench CA"], check=True, **quiet)
    subprocess.run(["openssl", "req"] + key + ["-keyout", f"{d}/server.key", "-out", f"{d}/server.csr",
                    "-subj", "/CN=localhost"], check=True, **quiet)
    with open(f"{d}/server.ext", "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
                    "-CAcreateserial", "-out", f"{d}/server.pem", "-days", "2", "-extfile", f"{d}/server.ext"],
                   check=True, **quiet)
    return f"{d}/ca.pem", f"{d}/server.pem", f"{d}/server.key"


def wait_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def start_servers(prefix, cert, key, baseline):
    os.makedirs(os.path.join(prefix, "logs"))
    os.makedirs(os.path.join(prefix, "tmp"))
    with open(os.path.join(ANCHORS, "nginx.conf")) as anchor:
        conf = anchor.read().rstrip()
    assert conf.endswith("}"), "unexpected nginx.conf"
    conf = conf[:-1] + NGINX_TLS_SERVER % {"cert": cert, "key": key} + "}\n"
    nginx_conf = os.path.join(prefix, "nginx.conf")
    with open(nginx_conf, "w") as out:
        out.write(conf)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench = os.path.join(ROOT, ".build/release/lockd-http-bench")
    procs = {
        "nginx": subprocess.Popen(["nginx", "-p", prefix, "-c", nginx_conf, "-g",
                                   f"daemon off; pid {prefix}/nginx.pid; worker_processes 2;"], **quiet),
        "FlyingFox": subprocess.Popen([os.path.join(ANCHOR_BUILD, ".build/release/ff-hello"), "18081", "--nodelay"], **quiet),
        "Hummingbird": subprocess.Popen([os.path.join(ANCHOR_BUILD, ".build/release/hb-hello"), "18082"], **quiet),
        "lockd": subprocess.Popen([bench, "127.0.0.1:18083"], **quiet),
        "lockd TLS": subprocess.Popen([bench, "127.0.0.1:18444", cert, key], **quiet),
    }
    if baseline:
        procs["lockd (main)"] = subprocess.Popen([baseline, "127.0.0.1:18084"], **quiet)
    for name in procs:
        wait_port(PORTS[name])
    return procs


def to_us(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]


def wrk(url, duration, script=None, close=False, pids=()):
    """Returns req/s, p50 and p99 in µs, and the servers' CPU µs per request."""
    cmd = ["wrk", "-t2", "-c64", f"-d{duration}s", "--latency"]
    cmd += ["-s", script] if script else []
    cmd += ["-H", "Connection: close"] if close else []
    ticks = cpu_ticks(pids)
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    ticks = cpu_ticks(pids) - ticks
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = ticks * 1_000_000 / os.sysconf("SC_CLK_TCK") / max(1, requests)
    # Anchored: "+/- Stdev" columns such as "77.50%" must not match.
    p50 = to_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print(f"  warning: {errors.group(0)}", flush=True)
    return rps, p50, p99, cpu


def cpu_ticks(pids):
    """User plus system CPU time of `pids`, in clock ticks."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def server_pids(procs, name):
    """The processes that serve `name`: nginx's workers, or the server itself."""
    process = next(key for key in ("lockd TLS", "lockd (main)", "lockd", "nginx", "Hummingbird", "FlyingFox") if name.startswith(key))
    proc = procs[process]
    if process == "nginx":
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in children] or [proc.pid]
    return [proc.pid]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def idle_connections(pids, port, count, context=None, path="/healthz", answer=b"\r\n\r\nok\n"):
    """Opens `count` keep-alive connections (TLS with `context`), one request
    each, and reads the servers' RSS while they idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 1000)), hard))
    before = sum(rss_kib(pid) for pid in pids)
    sockets = []
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        if context:
            s = context.wrap_socket(s, server_hostname="127.0.0.1")
        s.sendall(request)
        sockets.append(s)
    for s in sockets:
        data = b""
        while answer not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("the server closed a connection during the idle test")
            data += chunk
    time.sleep(2)
    during = sum(rss_kib(pid) for pid in pids)
    for s in sockets:
        s.close()
    return before, during


def drive(port, count, mode, ca=None):
    """Sends `count` requests from one client, one at a time: `get` (GET
    /healthz) or `post` on one keep-alive connection, `tls` the same over
    TLS, `handshake` a new TLS connection per request."""
    context = ssl.create_default_context(cafile=ca) if ca else None
    body = b'{"owner":"bench-client-0001","ttl_ms":30000}'
    post = (b"POST /locks/bench-lock HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 44\r\n")

    def connect():
        deadline = time.time() + 60
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return context.wrap_socket(s, server_hostname="127.0.0.1") if context else s

    s = None if mode == "handshake" else connect()
    for _ in range(count):
        if mode == "handshake":
            s = connect()
            s.sendall(post + b"Connection: close\r\n\r\n" + body)
        elif mode == "get":
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        else:
            s.sendall(post + b"\r\n" + body)
        data = b""
        while not (data.endswith(b"}") or data.endswith(b"ok\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if mode == "handshake":
            s.close()
    if s and mode != "handshake":
        s.close()


def instructions_per_request(command, port, mode, count, ca=None):
    """Instructions the server executes per request (all its threads, user
    space), counted by callgrind: repeatable whatever the machine's load."""
    out = tempfile.mkdtemp(prefix="lockd-callgrind-")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p"] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        drive(port, 200, mode, ca)  # warm-up, also waits for the server
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        drive(port, count, mode, ca)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        time.sleep(1)
        proc.terminate()
        proc.wait(timeout=60)
    total = 0
    for name in os.listdir(out):
        if name.count(".") == 2:  # cg.PID.1: the dump taken after the requests
            with open(os.path.join(out, name)) as dump:
                total += sum(int(m.group(1)) for m in re.finditer(r"^summary: (\d+)", dump.read(), re.M))
    shutil.rmtree(out, ignore_errors=True)
    return total / count


def median_ratio(samples, name, reference, index=0):
    """The median over rounds of name's figure over reference's, each round's pair taken side by side."""
    return statistics.median(a[index] / b[index] for a, b in zip(samples[name], samples[reference]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--idle-tls", type=int, default=2_000)
    parser.add_argument("--baseline", help="a lockd-http-bench built from another commit (main), measured beside this one")
    parser.add_argument("--no-instructions", action="store_true", help="skip the instruction counts (valgrind)")
    args = parser.parse_args()
    build()
    post = os.path.join(ANCHORS, "post.lua")
    base = lambda name, path: f"http://127.0.0.1:{PORTS[name]}{path}"
    secure = lambda name, path: f"https://127.0.0.1:{PORTS[name]}{path}"
    # Groups of targets run back to back, in reverse order every other round,
    # so that the pairs compared ran under the same load.
    groups = [[("nginx", base("nginx", "/locks/bench-lock"), post, False),
               ("lockd", base("lockd", "/locks/bench-lock"), post, False)]]
    if args.baseline:
        groups[0].append(("lockd (main)", base("lockd (main)", "/locks/bench-lock"), post, False))
    groups.append([("Hummingbird", base("Hummingbird", "/locks/bench-lock"), post, False),
                   ("FlyingFox", base("FlyingFox", "/locks/bench-lock"), post, False)])
    healthz = [("lockd GET /healthz", base("lockd", "/healthz"), None, False)]
    if args.baseline:
        healthz.append(("lockd (main) GET /healthz", base("lockd (main)", "/healthz"), None, False))
    groups.append(healthz)
    groups.append([("nginx TLS", secure("nginx TLS", "/locks/bench-lock"), post, False),
                   ("lockd TLS", secure("lockd TLS", "/locks/bench-lock"), post, False)])
    groups.append([("nginx TLS handshakes", secure("nginx TLS", "/locks/bench-lock"), post, True),
                   ("lockd TLS handshakes", secure("lockd TLS", "/locks/bench-lock"), post, True)])
    targets = [target for group in groups for target in group]
    prefix = tempfile.mkdtemp(prefix="lockd-bench-")
    ca, cert, key = make_certificates(prefix)
    procs = start_servers(prefix, cert, key, args.baseline)
    pids = {name: server_pids(procs, name) for name, _, _, _ in targets}
    samples = {name: [] for name, _, _, _ in targets}
    load = []
    idle = {}
    instructions = {}
    try:
        for name, url, script, close in targets:
            wrk(url, 2, script, close)  # warm-up
        for round_index in range(args.rounds):
            load.append(os.getloadavg()[0])
            for group in groups:
                for name, url, script, close in (group if round_index % 2 == 0 else reversed(group)):
                    result = wrk(url, args.duration, script, close, pids[name])
                    samples[name].append(result)
                    print(f"round {round_index + 1} {name}: {result[0]:.0f} req/s p50 {result[1]:.0f} us p99 {result[2]:.0f} us, "
                          f"{result[3]:.1f} us CPU per request", flush=True)
        context = ssl.create_default_context(cafile=ca)
        idle["lockd"] = (args.idle, idle_connections(pids["lockd"], PORTS["lockd"], args.idle))
        if args.baseline:
            idle["lockd (main)"] = (args.idle, idle_connections(pids["lockd (main)"], PORTS["lockd (main)"], args.idle))
        idle["nginx"] = (args.idle, idle_connections(pids["nginx"], PORTS["nginx"], args.idle, path="/locks/idle", answer=b'"ok":true}'))
        idle["lockd TLS"] = (args.idle_tls, idle_connections(pids["lockd TLS"], PORTS["lockd TLS"], args.idle_tls, context))
        idle["nginx TLS"] = (args.idle_tls, idle_connections(pids["nginx TLS"], PORTS["nginx TLS"], args.idle_tls, context))
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(timeout=10)
        if not args.no_instructions and shutil.which("valgrind"):
            bench = os.path.join(ROOT, ".build/release/lockd-http-bench")
            nginx = ["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"), "-g",
                     f"daemon off; master_process off; pid {prefix}/nginx-callgrind.pid;"]
            plain = [("lockd", [bench, "127.0.0.1:18083"], 18083)]
            if args.baseline:
                plain.append(("lockd (main)", [args.baseline, "127.0.0.1:18084"], 18084))
            for name, command, port in plain:
                for mode in ("get", "post"):
                    instructions[(name, mode)] = instructions_per_request(command, port, mode, 3000)
                    print(f"instructions {name} {mode}: {instructions[(name, mode)]:,.0f}", flush=True)
            for name, command, port in [("lockd", [bench, "127.0.0.1:18444", cert, key], 18444), ("nginx", nginx, 18443)]:
                for mode, count in (("tls", 2000), ("handshake", 300)):
                    instructions[(name, mode)] = instructions_per_request(command, port, mode, count, ca)
                    print(f"instructions {name} {mode}: {instructions[(name, mode)]:,.0f}", flush=True)
            instructions[("nginx", "post")] = instructions_per_request(nginx, 18080, "post", 3000)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(prefix, ignore_errors=True)

    median = {name: tuple(statistics.median(s[i] for s in runs) for i in range(4)) for name, runs in samples.items()}
    nginx, hb, lockd = median["nginx"], median["Hummingbird"], median["lockd"]
    lines = [
        "# HTTP server benchmark",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, loopback; "
        f"medians of {args.rounds} interleaved rounds of `wrk -t2 -c64 -d{args.duration}s --latency`; "
        f"1-minute load average at the start of each round: {', '.join(f'{value:.1f}' for value in load)} "
        "(the machine is shared with other work: compare figures within this run).",
        "Every server answers `POST /locks/bench-lock` (wrk's `post.lua` from shared/anchors) with the same ~150-byte JSON;",
        "lockd is `lockd-http-bench` (LockdHTTP with a `Router`, one loop per core), FlyingFox runs with `--nodelay`.",
        "Over TLS, lockd and nginx (2 workers) serve the same ECDSA P-256 certificate with OpenSSL's default protocol",
        "versions and ciphers (TLS 1.3, TLS_AES_256_GCM_SHA384, X25519 for both); \"handshakes\" adds `Connection: close`,",
        "so every request is a new connection and a TLS handshake (the same client handshakes for both servers).",
        "CPU per request is the server processes' user + system time over the run (nginx: its workers), divided by",
        "the requests served: less sensitive to the machine's other load than req/s. Ratios are medians of each",
        "round's side-by-side ratio.",
        "",
        "Rerun: `python3 benchmarks/http/run.py --baseline MAIN/lockd-http-bench` (see the script's header; options:",
        "`--rounds N --duration S --idle N --idle-tls N`).",
        "",
        "| server | req/s | p50 | p99 | CPU per request | req/s vs nginx | req/s vs Hummingbird | p99 vs nginx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    plain_names = [name for name, _, _, _ in targets if "TLS" not in name]
    for name in plain_names:
        rps, p50, p99, cpu = median[name]
        lines.append(f"| {name} | {rps:,.0f} | {p50:.0f} µs | {p99:.0f} µs | {cpu:.1f} µs | {median_ratio(samples, name, 'nginx'):.2f}× | "
                     f"{median_ratio(samples, name, 'Hummingbird'):.2f}× | {p99 / nginx[2]:.2f}× |")
    lines += [
        "",
        "## TLS",
        "",
        "| server | req/s | p50 | p99 | CPU per request | req/s vs nginx | CPU vs nginx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, reference in [("nginx TLS", "nginx TLS"), ("lockd TLS", "nginx TLS"),
                            ("nginx TLS handshakes", "nginx TLS handshakes"), ("lockd TLS handshakes", "nginx TLS handshakes")]:
        rps, p50, p99, cpu = median[name]
        label = name.replace(" handshakes", ", new connection per request")
        lines.append(f"| {label} | {rps:,.0f} | {p50:.0f} µs | {p99:.0f} µs | {cpu:.1f} µs | "
                     f"{median_ratio(samples, name, reference):.2f}× | {median_ratio(samples, name, reference, 3):.2f}× |")
    lines += [
        "",
        f"lockd over TLS keeps {median['lockd TLS'][0] / lockd[0]:.0%} of its plaintext req/s (nginx: {median['nginx TLS'][0] / nginx[0]:.0%}).",
        "",
        "Every round:",
        "",
    ]
    for name, runs in samples.items():
        lines.append(f"- {name}: " + ", ".join(f"{r[0]:,.0f} req/s (p99 {r[2]:.0f} µs, {r[3]:.1f} µs CPU)" for r in runs))
    per_connection = lambda name: (idle[name][1][1] - idle[name][1][0]) * 1024 / idle[name][0]
    lines += [
        "",
        "## Idle keep-alive connections",
        "",
        "Each connection served one request, then idled; the server's RSS (nginx: its workers') before and while holding them.",
        "",
        "| server | connections | RSS before | RSS holding them | per connection |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (count, (before, during)) in idle.items():
        lines.append(f"| {name} | {count:,} | {before / 1024:.1f} MiB | {during / 1024:.1f} MiB | {per_connection(name):,.0f} bytes |")
    tls_ratio = median_ratio(samples, "lockd TLS", "nginx TLS")
    handshake_ratio = median_ratio(samples, "lockd TLS handshakes", "nginx TLS handshakes")
    lines += [
        "",
        f"An idle TLS connection costs lockd {per_connection('lockd TLS') - per_connection('lockd'):,.0f} bytes more than a "
        "plaintext one: OpenSSL's session state (its record buffers are released while idle).",
        "",
        "## Goals",
        "",
        f"- ≥ 1.5× Hummingbird's req/s: {median_ratio(samples, 'lockd', 'Hummingbird'):.2f}× — "
        f"{'met' if median_ratio(samples, 'lockd', 'Hummingbird') >= 1.5 else 'NOT met'}",
        f"- ≥ 60% of nginx's req/s: {median_ratio(samples, 'lockd', 'nginx'):.0%} — {'met' if median_ratio(samples, 'lockd', 'nginx') >= 0.6 else 'NOT met'}",
        f"- p99 ≤ 2× nginx's: {lockd[2] / nginx[2]:.2f}× — {'met' if lockd[2] <= 2 * nginx[2] else 'NOT met'}",
        f"- {args.idle // 1000}k idle connections under 200 MiB RSS: {idle['lockd'][1][1] / 1024:.1f} MiB — "
        f"{'met' if idle['lockd'][1][1] < 200 * 1024 else 'NOT met'}",
        f"- TLS keep-alive ≥ 0.8× nginx's req/s: {tls_ratio:.2f}× — {'met' if tls_ratio >= 0.8 else 'NOT met'}",
        f"- TLS handshakes ≥ 0.7× nginx's: {handshake_ratio:.2f}× — {'met' if handshake_ratio >= 0.7 else 'NOT met'}",
    ]
    if args.baseline:
        for name, main_name, mode in [("lockd", "lockd (main)", "post"), ("lockd GET /healthz", "lockd (main) GET /healthz", "get")]:
            ratio = median_ratio(samples, name, main_name)
            cpu = median_ratio(samples, name, main_name, 3)
            counted = instructions.get(("lockd", mode), 0) / instructions.get(("lockd (main)", mode), 1) if instructions else None
            verdict = "met" if ratio >= 0.97 or (cpu <= 1.03 and (counted or 1) <= 1.03) else "NOT met"
            lines.append(f"- plaintext within 3% of main ({name}): {ratio:.3f}× the req/s, {cpu:.3f}× the CPU per request"
                         + (f", {counted:.3f}× the instructions" if counted else "") + f" — {verdict}"
                         + (" (on CPU and instructions; req/s here swings more than 3% between runs of one binary)"
                            if ratio < 0.97 and verdict == "met" else ""))
    if instructions:
        lines += [
            "",
            "## Instructions per request",
            "",
            "Counted by callgrind (`valgrind --tool=callgrind`): the server's user-space instructions per request, all",
            "threads, from one client sending requests one at a time (3 000 per figure; 300 new TLS connections) —",
            "repeatable whatever else the machine runs, unlike req/s above. Kernel time (about half of each",
            "request's CPU here) is not counted; lockd and main make the same system calls per request (one `read`,",
            "one `send`, one `epoll_wait`).",
            "",
            "| server | GET /healthz | POST /locks/… | POST over TLS | new TLS connection per request |",
            "|---|---:|---:|---:|---:|",
        ]
        cell = lambda name, mode: f"{instructions[(name, mode)]:,.0f}" if (name, mode) in instructions else "—"
        for name in ["lockd", "lockd (main)", "nginx"]:
            if any(key[0] == name for key in instructions):
                lines.append(f"| {name} | {cell(name, 'get')} | {cell(name, 'post')} | {cell(name, 'tls')} | {cell(name, 'handshake')} |")
        if ("lockd (main)", "get") in instructions:
            lines += [
                "",
                f"lockd against main: {instructions[('lockd', 'get')] / instructions[('lockd (main)', 'get')]:.3f}× the instructions "
                f"for GET /healthz, {instructions[('lockd', 'post')] / instructions[('lockd (main)', 'post')]:.3f}× for POST. "
                f"TLS adds {instructions[('lockd', 'tls')] - instructions[('lockd', 'post')]:,.0f} instructions per request to lockd, "
                f"{instructions[('nginx', 'tls')] - instructions[('nginx', 'post')]:,.0f} to nginx; a handshake costs lockd "
                f"{instructions[('lockd', 'handshake')] / instructions[('nginx', 'handshake')]:.2f}× nginx's.",
            ]
    lines.append("")
    with open(RESULTS, "w") as results:
        results.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
