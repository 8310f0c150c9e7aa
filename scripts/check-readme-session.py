#!/usr/bin/env python3
"""Runs the README's curl session against a live lockd and checks that every
command answers what the README shows.

    python3 scripts/check-readme-session.py            # in-memory lockd
    python3 scripts/check-readme-session.py --redis    # lockd on a redis-server it starts

The session is the fenced block after the `<!-- curl-session -->` marker in
README.md. Lines starting with `$ ` are commands (a trailing backslash
continues one); the lines after a command, up to the next one or a blank
line, are what it prints. The commands run in one bash, in order, exactly as
written except that `localhost:7070` becomes the port of the lockd started
here. An output is matched by shape, not by value (tokens, fences and times
differ on every run):

- `HTTP/1.1 NNN …`: the same status line, and the header fields shown (their
  names); `…` stands for fields left out;
- a JSON object: the same keys at every level, and the same `type`,
  `title`, `status` and `name`;
- anything else: the same text.

Used by CI (.ci/run). Exits 1 naming each command whose output differs.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def session(readme):
    text = open(readme).read()
    marker = text.index("<!-- curl-session -->")
    block = text[marker:].split("```sh\n", 1)[1].split("\n```", 1)[0]
    steps, current = [], None
    lines = block.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command = command + "\n" + lines[index]
            current = {"command": command, "expected": []}
            steps.append(current)
        elif line.strip() == "":
            if current is not None and current["expected"] and current["expected"][-1] != "":
                current["expected"].append("")
        elif current is not None:
            current["expected"].append(line)
        index += 1
    for step in steps:
        while step["expected"] and step["expected"][-1] == "":
            step["expected"].pop()
    return steps


def shape(value):
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def compare_json(expected_text, actual_text):
    try:
        expected = json.loads(expected_text)
    except ValueError as error:
        return f"README's JSON does not parse: {error}"
    try:
        actual = json.loads(actual_text)
    except ValueError:
        return f"not JSON: {actual_text!r}"
    if shape(expected) != shape(actual):
        return f"different fields:\n  README: {shape(expected)}\n  lockd:  {shape(actual)}"
    for key in ("type", "title", "status", "name"):
        if isinstance(expected, dict) and expected.get(key) != actual.get(key):
            return f"{key} is {actual.get(key)!r}, README shows {expected.get(key)!r}"
    return None


def compare(expected, actual):
    """None when `actual` (the command's output lines) matches `expected`."""
    if not expected:
        return None if not "".join(actual).strip() else f"README shows no output, lockd printed {actual!r}"
    if expected[0].startswith("HTTP/"):
        if not actual or actual[0].rstrip("\r") != expected[0]:
            return f"status line {actual[:1]!r}, README shows {expected[0]!r}"
        blank = actual.index("") if "" in actual else len(actual)
        names = {line.split(":", 1)[0].lower() for line in actual[1:blank]}
        for line in expected[1:]:
            if line == "":
                break
            if line != "…" and line.split(":", 1)[0].lower() not in names:
                return f"no {line.split(':', 1)[0]} header"
        body_expected = expected[expected.index("") + 1:] if "" in expected else []
        body_actual = [line for line in actual[blank + 1:] if line.strip()]
        if body_expected:
            return compare_json(body_expected[0], body_actual[0] if body_actual else "")
        return None
    if expected[0].startswith("{"):
        return compare_json(expected[0], actual[0] if actual else "")
    return None if [line.rstrip("\r") for line in actual] == expected else f"printed {actual!r}, README shows {expected!r}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", action="store_true", help="run lockd on a redis-server started here")
    parser.add_argument("--lockd", default=os.environ.get("LOCKD_BINARY", os.path.join(ROOT, ".build/debug/lockd")))
    arguments = parser.parse_args()
    steps = session(os.path.join(ROOT, "README.md"))
    if len(steps) < 5:
        sys.exit(f"check-readme-session: found only {len(steps)} commands in README.md's session")

    directory = tempfile.mkdtemp(prefix="lockd-readme-")
    processes = []
    try:
        port = free_port()
        command = [arguments.lockd, "--listen", f"127.0.0.1:{port}"]
        if arguments.redis:
            redis_port = free_port()
            processes.append(subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", directory], stdout=subprocess.DEVNULL))
            command += ["--redis", f"redis://127.0.0.1:{redis_port}"]
        log = open(os.path.join(directory, "lockd.log"), "w")
        lockd = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        processes.append(lockd)
        if not wait_for(f"http://127.0.0.1:{port}/readyz"):
            sys.exit("check-readme-session: lockd did not become ready:\n" + open(log.name).read()[-2000:])

        # One bash runs every command, so variables carry over; each command's
        # output goes to a file of its own.
        script = ["set -u"]
        for number, step in enumerate(steps):
            text = step["command"].replace("localhost:7070", f"localhost:{port}")
            script.append(f"{{\n{text}\n}} > {directory}/out.{number} 2>&1")
        # Let a background command finish before the outputs are read.
        script.append("wait")
        run = subprocess.run(["bash", "-c", "\n".join(script)], timeout=120)
        if run.returncode != 0:
            print(f"check-readme-session: the session's shell exited with {run.returncode}", file=sys.stderr)

        problems = []
        for number, step in enumerate(steps):
            actual = open(f"{directory}/out.{number}").read().split("\n")
            while actual and actual[-1] == "":
                actual.pop()
            problem = compare(step["expected"], actual)
            if problem:
                problems.append(f"$ {step['command']}\n  {problem}")
        store = "redis" if arguments.redis else "memory"
        if problems or run.returncode != 0:
            print("\n".join(problems), file=sys.stderr)
            sys.exit(f"check-readme-session ({store}): {len(problems)} of {len(steps)} commands differ from README.md")
        print(f"check-readme-session ({store}): all {len(steps)} commands answer as README.md shows")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
