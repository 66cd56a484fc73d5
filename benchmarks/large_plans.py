"""Large plans: split-and-merge (dispatch/large_plans.py) against solving whole.

    .venv/bin/python benchmarks/large_plans.py region  [--time-limit 30] [--part-limit 8] [--processes 2]
    .venv/bin/python benchmarks/large_plans.py multi   [--part-limit 4] [--processes 2] [--whole]
    .venv/bin/python benchmarks/large_plans.py region --redis-url redis://127.0.0.1:6379/0   # parts on RQ workers

`region`: one region's day, 1,000 visits and 60 technicians (benchmarks/field_days.py's
generator: opening hours, lunch breaks, skills, parts with depots, SLA due times,
optional preventive visits). Solved whole by `dispatch.solver.solve` (which itself
decomposes sequentially above 250 visits) with --time-limit, and split into parts of
about 5 technicians solved --processes at a time with --part-limit each (60 % first
round, 40 % repair round).

`multi`: five such regions, 5,000 visits and 300 technicians, split by region and
geography and solved in parallel; with --whole also each region solved whole, one
after the other (one 5,000-visit problem is not attempted: see docs/benchmarks.md).

Each solve runs in a fresh subprocess so that its peak RSS (and its pool's) can be
read; every answer goes through the validator. Prints JSON lines and a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_problems(kind: str, seed: int) -> dict:
    from benchmarks.field_days import generate_day, with_matrix

    n_regions = 1 if kind == "region" else 5
    return {f"R{r}": with_matrix(generate_day(1000, 60, seed + r)) for r in range(n_regions)}


def child(mode: str, path: str, time_limit: float, processes: int, redis_url: str | None) -> None:
    """Runs in a subprocess: solve, validate, print one JSON line."""
    from benchmarks.field_days import metrics
    from dispatch.solver import solve
    from dispatch.solver.vroom_json import problem_from_json

    data = json.loads(Path(path).read_text())
    problems = {k: problem_from_json(v) for k, v in data.items()}
    t0 = time.monotonic()
    if mode == "whole":
        solutions = {k: solve(p, time_limit_s=time_limit) for k, p in problems.items()}
        parts = len(problems)
    else:
        from dispatch.planning.large_plans import solve_day

        result = solve_day(problems, time_limit_s=time_limit, processes=processes, redis_url=redis_url)
        solutions, parts = result.solutions, result.parts
    wall = time.monotonic() - t0
    per = [metrics(problems[k], solutions[k]) for k in problems]
    total = {key: sum(m[key] for m in per) for key in
             ("assigned", "required_assigned", "required_total", "optional_assigned", "priority",
              "travel_h", "late_min", "violations")}
    total["violation_kinds"] = sorted({k for m in per for k in m["violation_kinds"]})
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "wall_s": round(wall, 1), "parts": parts, **total,
                      "travel_h": round(total["travel_h"], 1), "late_min": round(total["late_min"]),
                      "peak_rss_mib": round(rss_self), "peak_rss_child_mib": round(rss_children)}))


def run(mode, path, time_limit, processes, redis_url) -> dict:
    cmd = [sys.executable, __file__, "_child", mode, path, str(time_limit), str(processes), redis_url or ""]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _, _, mode, path, tl, procs, redis_url = sys.argv
        child(mode, path, float(tl), int(procs), redis_url or None)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["region", "multi"])
    ap.add_argument("--time-limit", type=float, default=30.0, help="whole solve, per region")
    ap.add_argument("--part-limit", type=float, default=8.0, help="split: per part (both rounds)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--whole", action="store_true", help="multi: also solve each region whole")
    ap.add_argument("--redis-url", default=None, help="solve the parts on RQ workers (fixroute worker -q solves)")
    args = ap.parse_args()
    t = time.monotonic()
    problems = make_problems(args.kind, args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(problems, f)
        path = f.name
    print(f"# {args.kind}: {len(problems)} region(s) x 1000 visits / 60 technicians, built in "
          f"{time.monotonic() - t:.1f} s; machine {platform.node()} {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    try:
        if args.kind == "region" or args.whole:
            rows.append(run("whole", path, args.time_limit, 1, None))
            print(json.dumps(rows[-1]), flush=True)
        rows.append(run("split", path, args.part_limit, args.processes, args.redis_url))
        print(json.dumps(rows[-1]), flush=True)
    finally:
        os.unlink(path)
    print("\n| mode | parts | wall s | assigned | required | optional | priority | travel h | late min "
          "| violations | peak RSS MiB (parent / largest child) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['parts']} | {r['wall_s']} | {r['assigned']} | {r['required_assigned']}/"
              f"{r['required_total']} | {r['optional_assigned']} | {r['priority']} | {r['travel_h']} | "
              f"{r['late_min']} | {r['violations']} {','.join(r.get('violation_kinds', []))} | {r['peak_rss_mib']} / {r['peak_rss_child_mib']} |")


if __name__ == "__main__":
    main()
