"""Realistic FixRoute days, solved by FixRoute and by VROOM on the same JSON.

    .venv/bin/python benchmarks/field_days.py [--sizes 100x10:10,300x25:30,1000x60:60] [--seed 7]
        [--plain] [--workers N] [--builder auto|pyvrp|vroom|ortools] [--no-write] [--dump-dir DIR]

A day in a city region (a 12 km disc around a centre): merchants with opening
hours (a third close for lunch 12:30-14:00, some open late), technicians with
skill sets, vans stocked with a few parts, two depots, repairs with priorities
from their SLA tier and soft due times, optional preventive (PM) visits, a
30-minute lunch break between 12:00 and 14:00, overtime after 17:00.

Both solvers get the same problem and the same time limit, one core each
(FixRoute ``workers=1``, VROOM ``nb_threads=1``, exploration level 5).  VROOM
sees the plain VROOM JSON (``x_fixroute_`` keys stripped: it knows no due times,
optional visits or depot pickups).  Each solve runs in its own subprocess so
that its peak RSS can be read (``resource.getrusage``); both answers go through
the same validator.  Results go to the "## Solver: field days" section of
docs/benchmarks.md.

``--plain`` gives FixRoute the plain VROOM JSON too (the ``x_fixroute_`` keys left
out, as a new user would try it): the same input for both, so the priority placed
compares directly.  ``--workers`` and ``--builder`` are passed to FixRoute's solve.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dispatch.solver.vroom_json import problem_from_json

HOUR = 3600
CENTRE = (2.3522, 48.8566)  # lon, lat
RADIUS_KM = 12.0
PARTS = ["card_reader", "screen", "battery", "printer"]
SKILLS = {1: "hardware", 2: "network", 3: "printer", 4: "brand_x"}


def _point(rng: random.Random) -> list[float]:
    r = RADIUS_KM * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    dlat = (r * math.sin(a)) / 111.32
    dlon = (r * math.cos(a)) / (111.32 * math.cos(math.radians(CENTRE[1])))
    return [round(CENTRE[0] + dlon, 6), round(CENTRE[1] + dlat, 6)]


def generate_day(n_jobs: int, n_techs: int, seed: int) -> dict:
    """A VROOM-format problem with FixRoute extensions (coordinates; matrix built later)."""
    rng = random.Random(seed * 1_000_003 + n_jobs)
    stock = [max(2, n_jobs // 10), max(1, n_jobs // 20), max(2, n_jobs // 10), max(1, n_jobs // 20)]
    depots = [{"id": 1, "location": _point(rng), "stock": list(stock), "service": 600,
               "time_windows": [[7 * HOUR, 19 * HOUR]]},
              {"id": 2, "location": _point(rng), "stock": list(stock), "service": 600,
               "time_windows": [[7 * HOUR, 19 * HOUR]]}]
    vehicles = []
    for t in range(n_techs):
        skills = [1] + [s for s, p in ((2, 0.7), (3, 0.5), (4, 0.3)) if rng.random() < p]
        home = _point(rng) if rng.random() < 0.6 else depots[t % 2]["location"]
        start = 8 * HOUR + rng.choice([0, 0, 1800])
        vehicles.append({
            "id": t + 1, "start": home, "end": home, "skills": skills,
            "time_window": [start, start + 10 * HOUR],
            "capacity": [rng.randint(0, 2), rng.randint(0, 1), rng.randint(0, 2), rng.randint(0, 1)],
            "breaks": [{"id": 1, "time_windows": [[12 * HOUR, 14 * HOUR - 1800]], "service": 1800}],
            "costs": {"fixed": 0, "per_hour": 3600, "x_fixroute_overtime_per_hour": 7200},
            "x_fixroute_overtime_after": start + 9 * HOUR,
        })
    jobs = []
    for j in range(n_jobs):
        loc = _point(rng)
        kind = rng.random()
        hours = rng.random()
        if hours < 0.35:  # lunch closure
            tws = [[9 * HOUR, 12 * HOUR + 1800], [14 * HOUR, 19 * HOUR]]
        elif hours < 0.55:  # restaurants and bars: late
            tws = [[11 * HOUR, 22 * HOUR]]
        else:
            tws = [[8 * HOUR, 19 * HOUR]]
        job = {"id": 1000 + j, "location": loc, "time_windows": tws, "delivery": [0, 0, 0, 0]}
        if kind < 0.7:  # repair
            tier = rng.choice(["gold", "silver", "bronze"])
            job["priority"] = {"gold": 90, "silver": 60, "bronze": 30}[tier] + rng.randint(0, 9)
            job["service"] = rng.choice([1200, 1800, 2400, 3000])
            job["skills"] = [1] + ([2] if rng.random() < 0.3 else []) + ([4] if rng.random() < 0.1 else [])
            if rng.random() < 0.4:
                job["delivery"][rng.randrange(len(PARTS))] = 1
                if job["delivery"][3]:
                    job["skills"].append(3)
            if tier != "bronze":
                job["x_fixroute_due"] = (12 if tier == "gold" else 16) * HOUR + rng.randint(-3600, 3600)
                job["x_fixroute_lateness_cost_per_minute"] = 20 if tier == "gold" else 5
        else:  # preventive maintenance
            job["priority"] = rng.randint(5, 20)
            job["service"] = rng.choice([900, 1200, 1800])
            job["skills"] = [1]
            job["x_fixroute_optional"] = True
        jobs.append(job)
    return {"vehicles": vehicles, "jobs": jobs, "x_fixroute_depots": depots, "x_fixroute_part_kinds": PARTS}


def with_matrix(data: dict) -> dict:
    """Replace coordinates by a straight-line matrix so both solvers see the same travel."""
    from dispatch.solver.vroom_json import problem_to_json

    return problem_to_json(problem_from_json(data))


def strip_extensions(obj):
    if isinstance(obj, dict):
        return {k: strip_extensions(v) for k, v in obj.items() if not k.startswith("x_fixroute_")}
    if isinstance(obj, list):
        return [strip_extensions(v) for v in obj]
    return obj


def metrics(problem, solution) -> dict:
    from dispatch.solver import validate

    jobs = {j.id: j for j in problem.jobs}
    done = [s for r in solution.routes for s in r.steps if s.type == "job"]
    late = sum(max(0, s.service_start - jobs[s.id].due) for s in done if jobs[s.id].due is not None)
    late_cost = sum(max(0, s.service_start - jobs[s.id].due) / 60 * jobs[s.id].lateness_cost_per_minute
                    for s in done if jobs[s.id].due is not None)
    v_problem = problem
    if not any(s.distance for r in solution.routes for s in r.steps):
        v_problem = copy.deepcopy(problem)
        v_problem.distances = None  # VROOM reports no distances without geometry
    viol = validate(v_problem, solution)
    req = [j for j in problem.jobs if not j.optional]
    return {
        "assigned": len(done),
        "required_assigned": sum(1 for s in done if not jobs[s.id].optional),
        "required_total": len(req),
        "optional_assigned": sum(1 for s in done if jobs[s.id].optional),
        "priority": sum(jobs[s.id].priority for s in done),
        "priority_required": sum(jobs[s.id].priority for s in done if not jobs[s.id].optional),
        "travel_h": sum(r.duration for r in solution.routes) / 3600,
        "late_min": late / 60,
        "late_cost": late_cost,
        "routes": len(solution.routes),
        "violations": len(viol),
        "violation_kinds": sorted({v.kind for v in viol}),
        "unassigned_reasons": {c: sum(1 for u in solution.unassigned if u.code == c)
                               for c in sorted({u.code for u in solution.unassigned})},
    }


def worker(solver: str, path: str, time_limit: float, workers: int = 1, builder: str = "auto") -> None:
    """Child process: solve one instance, print metrics as JSON (with peak RSS)."""
    data = json.loads(Path(path).read_text())
    problem = problem_from_json(data)
    t0 = time.monotonic()
    if solver == "fixroute":
        from dispatch.solver import solve

        sol = solve(problem, time_limit, workers=workers, builder=builder)
        extra = {"config": sol.stats.config, "status": sol.stats.status, "detail": sol.stats.detail}
    else:
        import vroom

        from dispatch.solver.vroom_json import solution_from_json

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(strip_extensions(data), fh)
        inp = vroom.Input.from_json(fh.name)
        os.unlink(fh.name)
        level = int(solver.split("-x")[1]) if "-x" in solver else 5
        raw = inp.solve(exploration_level=level, nb_threads=1, timeout=datetime.timedelta(seconds=time_limit))
        sol = solution_from_json(json.loads(json.dumps(raw.to_dict(), default=int)), problem)
        extra = {}
    wall = time.monotonic() - t0
    out = metrics(problem, sol)
    out.update(extra)
    out["time_s"] = wall
    out["peak_rss_mib"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps(out))


def run_child(solver: str, path: str, time_limit: float, workers: int = 1, builder: str = "auto") -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", solver, path, str(time_limit), str(workers),
                           builder],
                          check=False, capture_output=True, text=True, timeout=time_limit * 3 + 300)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


SOLVER_FORMS = "fixroute, vroom (exploration level 5) or vroom-x0 .. vroom-x5 (that level)"
VROOM_LEVELS = range(6)  # VROOM's exploration levels


def solver_list(value: str) -> str:
    """--solvers: a comma list of fixroute, vroom and vroom-xN (N a VROOM exploration
    level, 0-5); anything else is refused here rather than in a solve's subprocess."""
    names = [name.strip() for name in value.split(",")]
    allowed = {"fixroute", "vroom", *(f"vroom-x{n}" for n in VROOM_LEVELS)}
    bad = [name for name in names if name not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(
            f"{', '.join(repr(b) for b in bad)} not understood: give a comma list of {SOLVER_FORMS}")
    return ",".join(names)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100x10:10,300x25:30,1000x60:60", help="JOBSxTECHS:SECONDS,...")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--dump-dir", default=None, help="keep the generated problem files here")
    ap.add_argument("--plain", action="store_true", help="FixRoute gets the plain VROOM JSON too")
    ap.add_argument("--workers", type=int, default=1, help="FixRoute's workers (VROOM: 1 thread)")
    ap.add_argument("--builder", default="auto", choices=["auto", "pyvrp", "vroom", "ortools"])
    ap.add_argument("--solvers", default="fixroute,vroom", type=solver_list,
                    help=f"comma list of {SOLVER_FORMS}")
    ap.add_argument("--section", default=None, help="title of the docs/benchmarks.md section to write")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from solomon import machine, write_section

    dump = Path(args.dump_dir) if args.dump_dir else Path(tempfile.mkdtemp(prefix="fixroute-days-"))
    dump.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in args.sizes.split(","):
        size, secs = spec.split(":")
        n_jobs, n_techs = (int(x) for x in size.split("x"))
        t0 = time.monotonic()
        data = with_matrix(generate_day(n_jobs, n_techs, args.seed))
        if args.plain:
            data = strip_extensions(data)
        gen_s = time.monotonic() - t0
        path = dump / f"day_{n_jobs}x{n_techs}_seed{args.seed}{'_plain' if args.plain else ''}.json"
        path.write_text(json.dumps(data))
        for solver in args.solvers.split(","):
            r = run_child(solver, str(path), float(secs), args.workers, args.builder)
            r.update({"size": f"{n_jobs}/{n_techs}", "solver": solver, "limit": float(secs), "gen_s": gen_s})
            rows.append(r)
            print(json.dumps(r), flush=True)
    if args.no_write:
        return
    cmd = "python benchmarks/field_days.py " + " ".join(sys.argv[1:])
    body = [
        f"Command: `{cmd.strip()}` (run on {time.strftime('%Y-%m-%d')})  ",
        (f"Machine: {machine()} (VROOM 1 thread, exploration level 5 unless the row says "
        f"vroom-xN); FixRoute {args.workers} worker(s), builder {args.builder}.  "),
        ("Both get the plain VROOM JSON (no `x_fixroute_` keys) and the same straight-line matrix (x1.3 detour, "
         "30 km/h). " if args.plain else
         "Same VROOM JSON and straight-line matrix (x1.3 detour, 30 km/h) for both; VROOM gets it without "
         "`x_fixroute_` keys (no due times, no optional flag, no depot pickups). ") +
        "Each solve in its own process; "
        "peak RSS of that process (problem parsing and validation included). Priority = sum of priorities of "
        "assigned jobs (what VROOM maximises first); lateness = minutes after the soft due times.",
        "",
        ("| size (jobs/techs) | solver | limit s | time s | assigned (required/total req, optional) | "
        "priority sum | travel h | travel min per visit | lateness min | lateness cost | violations | "
        "peak RSS MiB |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            body.append(f"| {r['size']} | {r['solver']} | {r['limit']:g} | error | | | | | | | | |")
            continue
        body.append(
            f"| {r['size']} | {r['solver']} | {r['limit']:g} | {r['time_s']:.1f} | {r['assigned']} "
            f"({r['required_assigned']}/{r['required_total']}, {r['optional_assigned']}) | {r['priority']} | "
            f"{r['travel_h']:.1f} | {60 * r['travel_h'] / max(1, r['assigned']):.1f} | {r['late_min']:.0f} | "
            f"{r['late_cost']:.0f} | {r['violations']} "
            f"{','.join(r['violation_kinds'])} | {r['peak_rss_mib']:.0f} |")
    body.append("")
    body.append("Unassigned reasons (FixRoute): " + "; ".join(
        f"{r['size']}: {r.get('unassigned_reasons')}" for r in rows if r.get("solver") == "fixroute"))
    body.append("")
    body.append("FixRoute configurations: " + "; ".join(
        f"{r['size']}: {r.get('config')} ({r.get('detail', '')})" for r in rows if r.get("solver") == "fixroute"))
    title = args.section or ("Solver: field days, plain VROOM format" if args.plain
                             else "Solver: field days (FixRoute vs VROOM)")
    write_section(ROOT / "docs" / "benchmarks.md", title, "\n".join(body))


if __name__ == "__main__":
    main()
