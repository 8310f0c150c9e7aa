"""Runs each command once per round, in a new shuffled order every round, and
writes every wall time (seconds) as JSON: while other work comes and goes on
the machine, each round's commands see about the same load, so per-round ratios
hold up where hyperfine's one-command-after-another medians drift.

    python3 interleave.py OUT.json RUNS WARMUP 'name|command args' …
"""
import json
import random
import shlex
import subprocess
import sys
import time

out, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
commands = {entry.split("|", 1)[0]: shlex.split(entry.split("|", 1)[1]) for entry in sys.argv[4:]}
times = {name: [] for name in commands}
for round_ in range(warmup + runs):
    order = list(commands)
    random.shuffle(order)
    for name in order:
        start = time.perf_counter()
        status = subprocess.run(commands[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        elapsed = time.perf_counter() - start
        if status != 0:
            sys.exit(f"interleave.py: {name} exited {status}")
        if round_ >= warmup:
            times[name].append(elapsed)
json.dump({"results": [{"command": name, "times": values} for name, values in times.items()]}, open(out, "w"))
