#!/usr/bin/env python3
"""Redis's own CPU per lock request in lockd's acquire->release cycle, for two
builds side by side: each build gets its own redis-server and lockd, started
once; the rounds then drive them in turn (lockbench, one client thread, N
clients on 1000 names, as cpu.sh's like-for-like cycle), so the machine's load
weighs on both alike. Per round and build: Redis's CPU (user + system, from
/proc/PID/stat) per lock request, and what `INFO commandstats` says Redis spent
inside its FCALLs (the commands the functions ran included) per call; and lockd's CPU per lock request. Medians over the rounds.

    python3 benchmarks/locks/redis-cost.py /tmp/base-bin /tmp/new-bin   # each holds lockd and lockbench

ROUNDS (default 7), DURATION seconds a round (5), CLIENTS (32).
"""
import json, os, re, socket, subprocess, sys, tempfile, time

ROUNDS = int(os.environ.get("ROUNDS", "7"))
DURATION = int(os.environ.get("DURATION", "5"))
CLIENTS = int(os.environ.get("CLIENTS", "32"))
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def redis_cli(port, *args):
    return subprocess.check_output(["redis-cli", "-p", str(port), *args], text=True)


def commandstats(port):
    """(FCALL calls, FCALL usec): the functions' time, the commands they ran included."""
    fcall = re.search(r"cmdstat_fcall:calls=(\d+),usec=(\d+)", redis_cli(port, "INFO", "commandstats"))
    return (int(fcall.group(1)), int(fcall.group(2))) if fcall else (0, 0)


def wait_until(seconds, check):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, subprocess.CalledProcessError):
            pass
        time.sleep(0.05)
    sys.exit("redis-cost.py: timed out starting")


def main():
    bins = sys.argv[1:3]
    if len(bins) != 2:
        sys.exit(__doc__)
    tmp = tempfile.mkdtemp(prefix="redis-cost.")
    started, setups = [], {}
    try:
        for b in bins:
            port, lport = free_port(), free_port()
            redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                                      "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(redis)
            wait_until(10, lambda: redis_cli(port, "PING").strip() == "PONG")
            lockd = subprocess.Popen([f"{b}/lockd", "--listen", f"127.0.0.1:{lport}", "--log-level", "warning", "--redis",
                                      f"redis://127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(lockd)
            wait_until(20, lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{lport}/readyz"],
                                                  stdout=subprocess.DEVNULL).returncode == 0)
            setups[b] = (port, lport, redis.pid, lockd.pid)
        figures = {b: {"cpu": [], "lockd": [], "fcall": [], "cycles": []} for b in bins}
        for round in range(ROUNDS):
            for b in (bins if round % 2 == 0 else bins[::-1]):
                port, lport, pid, lockd_pid = setups[b]
                redis_cli(port, "CONFIG", "RESETSTAT")
                before, lockd_before = ticks(pid), ticks(lockd_pid)
                out = subprocess.check_output([f"{b}/lockbench", "--url", f"http://127.0.0.1:{lport}", "--clients", str(CLIENTS),
                                               "--names", "1000", "--duration", f"{DURATION}s", "--prefix", f"rc{round}", "--json"],
                                              text=True, stderr=subprocess.DEVNULL)
                spent, lockd_spent = ticks(pid) - before, ticks(lockd_pid) - lockd_before
                calls, fcall_usec = commandstats(port)
                result = json.JSONDecoder().raw_decode(out[re.search(r"^\{", out, re.M).start():])[0]
                requests = result["acquire"]["latency_ms"]["count"] + result["release"]["latency_ms"]["count"]
                figures[b]["cpu"].append(spent / HZ * 1e6 / requests)
                figures[b]["lockd"].append(lockd_spent / HZ * 1e6 / requests)
                figures[b]["fcall"].append(fcall_usec / calls if calls else float("nan"))
                figures[b]["cycles"].append(result["cycles_per_second"])
        median = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"lockbench {CLIENTS} clients, 1000 names, {ROUNDS} rounds x {DURATION} s, builds alternating; "
              f"load {os.getloadavg()[0]:.1f}; medians")
        for b in bins:
            f = figures[b]
            print(f"{b:24} redis_cpu_us_per_request={median(f['cpu']):.2f} fcall_usec_per_call={median(f['fcall']):.2f} "
                  f"lockd_cpu_us_per_request={median(f['lockd']):.2f} "
              f"cycles_per_s={median(f['cycles']):.0f}")
        b0, b1 = bins
        print(f"ratio {b1} / {b0}: redis cpu {median(figures[b1]['cpu']) / median(figures[b0]['cpu']):.3f}, "
              f"fcall {median(figures[b1]['fcall']) / median(figures[b0]['fcall']):.3f}")
    finally:
        for p in reversed(started):
            p.terminate()
        for p in started:
            p.wait()


if __name__ == "__main__":
    main()
