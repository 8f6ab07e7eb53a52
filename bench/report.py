#!/usr/bin/env python3
"""Turns bench/results/raw/results.json (written by the `bench` driver) into
bench/results/report.md, bench/results/latency.png and the Performance block
of README.md. Every target is a ratio to a floor measured in the same run.
The parts live in bench/reporting/: measure (samples to measurements),
targets (met, missed or retired), sections and trips (the Markdown), why
(what a miss means), chart."""

import argparse
import json
import os

from reporting.chart import chart
from reporting.measure import measure
from reporting.sections import cold_tables, doors, header, memory, notifier, target_table, warm
from reporting.targets import targets
from reporting.trips import capacity, misses, readme_block, write_readme


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True, help="results.json of the run")
    ap.add_argument("--out", required=True, help="where report.md and latency.png go")
    ap.add_argument("--zips", required=True, help="the arm64 zips, one directory per function")
    ap.add_argument("--readme", help="README.md whose Performance block is rewritten")
    a = ap.parse_args()
    with open(a.raw) as f:
        M = measure(json.load(f), a.zips)
    ts = targets(M)
    L = header(M) + target_table(ts) + cold_tables(M) + doors(M) + notifier(M) + warm(M) + memory(M) \
        + capacity(M) + misses(ts, M)
    # Hand-written notes on this run (what changed, what to read into it).
    notes = os.path.join(a.out, "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read().rstrip() + "\n")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    chart(os.path.join(a.out, "latency.png"), M)
    if a.readme:
        write_readme(a.readme, readme_block(M, ts))


if __name__ == "__main__":
    main()
