"""Solomon VRPTW benchmark for FixRoute's solver (run by hand, not in the tests).

    .venv/bin/python benchmarks/solomon.py [--time-limit 10] [--only C101,R2] [--seed N]
        [--workers N] [--config NAME] [--no-write] [--json-dir DIR]

Convention (DIMACS 2021 / CVRPLIB, see ../shared/benchmarks/SOURCES.md): the
distance and the travel time between two points are the Euclidean distance
truncated to one decimal; in integers, ``floor(10 * d)`` with times and service
durations scaled by 10 too.  The objective is total distance only, the fleet is
limited to VEHICLE NUMBER.  Each instance goes through the VROOM JSON face
(``problem_from_json``), is solved with a fixed time limit, checked by the
independent validator, and compared to the best-known distance in ``bks.csv``.
Results are written to the "## Solver: Solomon" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dispatch.solver import solve, validate
from dispatch.solver.ortools_model import solve_with_config
from dispatch.solver.search import PORTFOLIO
from dispatch.solver.vroom_json import problem_from_json

DATA = ROOT.parent / "shared" / "benchmarks" / "solomon"
DOC = ROOT / "docs" / "benchmarks.md"


def read_solomon(path: Path) -> dict:
    """Parse a Solomon text file into a VROOM problem dict (DIMACS convention)."""
    lines = [ln.split() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    n_veh, cap = None, None
    rows = []
    for i, ln in enumerate(lines):
        if ln[0] == "NUMBER":
            n_veh, cap = int(lines[i + 1][0]), int(lines[i + 1][1])
        if ln[0].isdigit() and len(ln) == 7:
            rows.append([int(float(x)) for x in ln])
    xs = [r[1] for r in rows]
    ys = [r[2] for r in rows]
    n = len(rows)
    mat = [[math.floor(10 * math.hypot(xs[a] - xs[b], ys[a] - ys[b])) for b in range(n)] for a in range(n)]
    depot = rows[0]
    vehicles = [{"id": v, "start_index": 0, "end_index": 0, "capacity": [cap],
                 "time_window": [depot[4] * 10, depot[5] * 10]} for v in range(n_veh)]
    jobs = [{"id": r[0], "location_index": r[0], "delivery": [r[3]], "service": r[6] * 10,
             "time_windows": [[r[4] * 10, r[5] * 10]]} for r in rows[1:]]
    return {"vehicles": vehicles, "jobs": jobs, "matrices": {"car": {"durations": mat, "distances": mat}}}


def read_bks() -> dict[str, tuple[int, float]]:
    out = {}
    with open(DATA / "bks.csv") as fh:
        for row in csv.DictReader(fh):
            if row["convention"] == "dimacs":
                out[row["instance"]] = (int(row["vehicles"]), float(row["distance"]))
    return out


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import version

    import ortools

    extra = f", PyVRP {version('pyvrp')}, pyvroom {version('pyvroom')}"
    load = ", load average {:.1f}/{:.1f}/{:.1f} at the end".format(*os.getloadavg())
    return (f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}, "
            f"OR-Tools {ortools.__version__}{extra}{load}")


def run_one(name: str, time_limit: float, seed, workers: int, config: str | None,
            builder: str | None = None) -> dict:
    data = read_solomon(DATA / f"{name}.txt")
    problem = problem_from_json(data)
    t0 = time.monotonic()
    if config:
        cfg = next(c for c in PORTFOLIO if c.name == config)
        sol = solve_with_config(problem, cfg, time_limit)
    else:
        sol = solve(problem, time_limit, seed=seed, workers=workers, builder=builder)
    wall = time.monotonic() - t0
    viol = validate(problem, sol)
    return {
        "instance": name,
        "vehicles": sol.summary.routes,
        "distance": sol.summary.distance / 10.0,
        "unassigned": sol.summary.unassigned,
        "time": wall,
        "violations": len(viol),
        "config": sol.stats.config,
        "feasible": sol.summary.unassigned == 0 and not viol and sol.summary.routes <= len(problem.vehicles),
    }


def write_section(doc: Path, title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of the markdown file."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    head = f"## {title}"
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == head), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + head + "\n\n" + body.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "\n".join(lines[:start] + [head, ""] + body.rstrip("\n").splitlines() + [""] + lines[end:]) + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--only", default="", help="comma list of instance names or prefixes")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--config", default=None, help="run one PORTFOLIO entry by name")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--section", default="Solver: Solomon VRPTW")
    ap.add_argument("--results", default=None, help="also dump rows as JSON here")
    ap.add_argument("--from-results", default=None,
                    help="write the section from rows dumped by an earlier --results run (no solving)")
    ap.add_argument("--builder", default=None, help="auto|pyvrp|vroom|ortools (default: auto)")
    args = ap.parse_args()
    bks = read_bks()
    names = sorted(bks)
    if args.only:
        pref = args.only.split(",")
        names = [n for n in names if any(n == p or n.startswith(p) for p in pref)]
    rows = json.loads(Path(args.from_results).read_text()) if args.from_results else []
    if rows:
        names = []
    print(f"{'inst':6} {'veh':>4} {'dist':>9} {'bks':>9} {'gap%':>6} {'time':>6} feas viol", flush=True)
    for name in names:
        r = run_one(name, args.time_limit, args.seed, args.workers, args.config, args.builder)
        r["bks"] = bks[name][1]
        r["bks_vehicles"] = bks[name][0]
        r["gap"] = 100.0 * (r["distance"] - r["bks"]) / r["bks"] if r["unassigned"] == 0 else float("nan")
        rows.append(r)
        print(f"{name:6} {r['vehicles']:4d} {r['distance']:9.1f} {r['bks']:9.1f} {r['gap']:6.2f} {r['time']:6.1f} "
              f"{'yes' if r['feasible'] else 'NO ':4} {r['violations']}", flush=True)
    gaps = [r["gap"] for r in rows if r["feasible"]]
    mean_gap = sum(gaps) / len(gaps) if gaps else float("nan")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    n_feas = sum(r["feasible"] for r in rows)
    print(f"mean gap {mean_gap:.2f}% over {len(gaps)} feasible of {len(rows)}; peak RSS {peak_mb:.0f} MiB "
          f"(children {peak_children:.0f} MiB)")
    if args.results:
        Path(args.results).write_text(json.dumps(rows, indent=1))
    if args.no_write:
        return
    cmd = "python benchmarks/solomon.py " + " ".join(a for a in sys.argv[1:] if a != args.from_results
                                                      and a != "--from-results")
    by_family: dict[str, list[float]] = {}
    for r in rows:
        fam = r["instance"].rstrip("0123456789")
        fam = r["instance"][: len(fam) + 1]
        if r["feasible"]:
            by_family.setdefault(fam, []).append(r["gap"])
    body = [
        f"Command: `{cmd.strip()}` (run on {time.strftime('%Y-%m-%d')})  ",
        f"Machine: {machine()}  ",
        f"Search: seed={args.seed}, workers={args.workers}, config={args.config or rows[0]['config'] if rows else ''}  ",
        f"Time limit per instance: {args.time_limit:g} s (wall time includes model build and, with workers, process start).",
        "",
        (f"**Mean gap {mean_gap:.2f}%** over {len(gaps)} feasible instances of {len(rows)} "
        f"({n_feas}/{len(rows)} feasible, all customers served within the fleet limit, validator clean); "
        f"peak RSS {peak_mb:.0f} MiB (parent), {peak_children:.0f} MiB (largest worker)."),
        "",
        "| family | mean gap % |",
        "|---|---|",
    ]
    for fam, g in sorted(by_family.items()):
        body.append(f"| {fam} | {sum(g) / len(g):.2f} |")
    body += ["", "| instance | vehicles (BKS) | distance | BKS | gap % | time s | feasible | violations |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        body.append(f"| {r['instance']} | {r['vehicles']} ({r['bks_vehicles']}) | {r['distance']:.1f} | {r['bks']:.1f} | "
                    f"{r['gap']:.2f} | {r['time']:.1f} | {'yes' if r['feasible'] else 'no'} | {r['violations']} |")
    write_section(DOC, args.section, "\n".join(body))


if __name__ == "__main__":
    main()
