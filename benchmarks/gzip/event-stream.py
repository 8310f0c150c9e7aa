#!/usr/bin/env python3
"""zlib figures for benchmarks/gzip/run.sh, with the system's zlib (the one lockd links).

  event-stream.py levels METRICS_FILE LIST_FILE
      For each body and zlib level 1, 4, 6, 9: compressed size and the
      median time of one compression, with the window sized to the body as
      lockd's GzipCompressor sizes it.
  event-stream.py stream
      A simulated lock event stream (2000 SSE events, PRODUCT.md's shape)
      sent identity, or gzip flushed after every event (Z_SYNC_FLUSH, what a
      streaming gzip must do so each event arrives at once): bytes per event,
      CPU per event, and the memory one stream's zlib state holds.
Each prints JSON lines.
"""
import json
import random
import statistics
import sys
import time
import tracemalloc
import zlib


def window_and_memory(count):
    """GzipCompressor.windowAndMemory: the smallest window that still sees the whole input."""
    bits, memory = 15, 8
    while bits > 9 and count < (1 << (bits - 1)) - 262:
        bits -= 1
        memory -= 1
    return bits, max(memory, 1)


def levels(paths):
    for name, path in zip(["metrics", "list"], paths):
        body = open(path, "rb").read()
        bits, memory = window_and_memory(len(body))
        for level in (1, 4, 6, 9):
            times = []
            for _ in range(300):
                start = time.perf_counter_ns()
                stream = zlib.compressobj(level, zlib.DEFLATED, 16 + bits, memory)
                out = stream.compress(body) + stream.flush()
                times.append(time.perf_counter_ns() - start)
            print(json.dumps({"kind": "level", "body": name, "size": len(body), "level": level,
                              "compressed": len(out), "us": statistics.median(times) / 1000}))


def stream():
    rng = random.Random(7)
    kinds = ["acquired", "renewed", "released", "expired"]
    fence = 1796337596168753
    events = []
    for _ in range(2000):
        fence += rng.randint(1, 5000)
        data = {"name": f"orders:{rng.randint(1, 1000)}", "fence": fence,
                "owner": f"billing-worker-{rng.randint(1, 50)}", "mode": "exclusive",
                "at": f"2026-12-03T22:{rng.randint(10, 59)}:{rng.randint(10, 59)}.{rng.randint(100, 999)}Z"}
        events.append(f"event: {rng.choice(kinds)}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())
    identity = sum(len(e) for e in events)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    sent = len(compressor.compress(b""))
    start = time.perf_counter_ns()
    for event in events:
        sent += len(compressor.compress(event)) + len(compressor.flush(zlib.Z_SYNC_FLUSH))
    elapsed = time.perf_counter_ns() - start
    # Python's zlib allocates zlib's state through its traced allocator.
    tracemalloc.start()
    held = [zlib.compressobj(6, zlib.DEFLATED, 31) for _ in range(10)]
    for each in held:
        each.compress(events[0])
        each.flush(zlib.Z_SYNC_FLUSH)
    memory, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"kind": "stream", "events": len(events), "identity_bytes_per_event": identity / len(events),
                      "gzip_bytes_per_event": sent / len(events), "gzip_us_per_event": elapsed / 1000 / len(events),
                      "zlib_bytes_per_stream": memory / len(held)}))


if __name__ == "__main__":
    if sys.argv[1] == "levels":
        levels(sys.argv[2:4])
    else:
        stream()
