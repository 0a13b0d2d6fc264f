#!/usr/bin/env python3
"""Prints criterion's median of every benchmark under a target directory.

Usage: scripts/bench-medians.py [target-dir]   (default: target)

Reads <target>/criterion/<group>/<bench>/<size>/new/estimates.json (the last
run of each benchmark) and prints `group/bench/size  median  throughput`,
the figures BENCHMARKS.md quotes.
"""
import json
import os
import sys

root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "target", "criterion")


def human(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


for dirpath, dirnames, filenames in sorted(os.walk(root)):
    dirnames.sort()
    if os.path.basename(dirpath) != "new" or "estimates.json" not in filenames:
        continue
    with open(os.path.join(dirpath, "estimates.json")) as f:
        median = json.load(f)["median"]["point_estimate"]
    rate = ""
    bench_file = os.path.join(dirpath, "benchmark.json")
    if os.path.exists(bench_file):
        with open(bench_file) as f:
            throughput = json.load(f).get("throughput") or {}
        elements = throughput.get("Elements")
        if elements:
            rate = f"{elements / (median / 1e9):,.0f} elem/s"
    name = os.path.relpath(os.path.dirname(dirpath), root)
    print(f"{name:75} {human(median):>10} {rate:>22}")
