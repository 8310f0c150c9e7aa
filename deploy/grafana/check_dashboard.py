#!/usr/bin/env python3
"""Structural checks on lockd's Grafana dashboard that a JSON schema cannot
express, and (with --metrics) that every metric the dashboard and the alert
rules query is one lockd exports.

    python3 deploy/grafana/check_dashboard.py deploy/grafana/lockd-dashboard.json
    python3 deploy/grafana/check_dashboard.py --metrics scrape.txt \
        deploy/grafana/lockd-dashboard.json deploy/prometheus/lockd-alerts.yml

Run by deploy/check.sh (structure) and scripts/check-observability.sh
(metric names, against a live lockd's /metrics). Exits 1 listing every problem.
"""
import argparse
import json
import re
import sys

import yaml

# Grafana's own variables, always defined.
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
# Series Prometheus itself makes for every target.
PROMETHEUS_SERIES = {"up"}
METRIC = re.compile(r"\b((?:lockd|process)_[a-z0-9_]+|up)\b(?!\s*(?:\(|=~|!=|=))")


def panels_of(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def structure_problems(dashboard):
    problems = []
    ids = [panel["id"] for panel in panels_of(dashboard)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"panel ids used twice: {duplicates}")
    cells = {}
    for panel in panels_of(dashboard):
        pos = panel["gridPos"]
        if pos["x"] + pos["w"] > 24:
            problems.append(f"panel {panel['title']!r} runs past the 24-column grid")
        for x in range(pos["x"], min(24, pos["x"] + pos["w"])):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                if (x, y) in cells:
                    problems.append(f"panels {cells[(x, y)]!r} and {panel['title']!r} overlap")
                    break
                cells[(x, y)] = panel["title"]
            else:
                continue
            break
    defined = {variable["name"] for variable in dashboard["templating"]["list"]} | BUILTIN_VARIABLES
    for panel in panels_of(dashboard):
        texts = [target.get("expr", "") for target in panel.get("targets", [])]
        texts.append(json.dumps(panel.get("datasource", {})))
        for text in texts:
            for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text):
                if name not in defined:
                    problems.append(f"panel {panel['title']!r} uses ${name}, which no variable defines")
    return problems


def queries(path):
    if path.endswith(".json"):
        dashboard = json.load(open(path))
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                yield f"panel {panel['title']!r}", target["expr"]
        for variable in dashboard["templating"]["list"]:
            if variable.get("definition"):
                yield f"variable {variable['name']!r}", variable["definition"]
    else:
        for group in yaml.safe_load(open(path))["groups"]:
            for rule in group["rules"]:
                yield f"rule {rule.get('alert') or rule.get('record')!r}", rule["expr"]


def exported_families(scrape_path):
    families = set()
    for line in open(scrape_path):
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            families.add(name)
            if kind == "histogram":
                families |= {name + "_bucket", name + "_sum", name + "_count"}
    return families


def metric_problems(paths, scrape_path):
    exported = exported_families(scrape_path) | PROMETHEUS_SERIES
    problems = []
    for path in paths:
        for where, expr in queries(path):
            # Label values and strings are not metric names.
            bare = re.sub(r'"[^"]*"', '""', expr)
            for name in METRIC.findall(bare):
                if name not in exported:
                    problems.append(f"{path}: {where} queries {name}, which lockd does not export")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="dashboard .json files and rule .yml files")
    parser.add_argument("--metrics", help="a scrape of lockd's /metrics to check metric names against")
    arguments = parser.parse_args()
    problems = []
    for path in arguments.files:
        if path.endswith(".json"):
            problems += [f"{path}: {p}" for p in structure_problems(json.load(open(path)))]
    if arguments.metrics:
        problems += metric_problems(arguments.files, arguments.metrics)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_dashboard: ok: {', '.join(arguments.files)}")


if __name__ == "__main__":
    main()
