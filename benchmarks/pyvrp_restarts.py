"""How PyVRP's budget is best spent: one long search or several seeds (run by hand).

    .venv/bin/python benchmarks/pyvrp_restarts.py --budget 50 --only R204,RC203 \
        --variants 1x300,3x300,3x1000

Each variant ``RUNSxHISTORY`` runs PyVRP ``RUNS`` times (seeds 0, 1, ...) for an equal
share of ``--budget`` seconds with a late-acceptance history of ``HISTORY`` solutions,
and keeps the shortest.  PyVRP gets exactly the data FixRoute's builder gives it
(``builders.pyvrp_input``), so the figures are the
builder's own, without the OR-Tools finish.  Gaps are against the DIMACS best known
distances of ``benchmarks/solomon.py``.  This chose ``builders.PYVRP_RUN_S``,
``PYVRP_MAX_RUNS`` and ``PYVRP_LONG_HISTORY`` (docs/benchmarks.md, "PyVRP restarts").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pyvrp
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.solve import SolveParams
from pyvrp.stop import MaxRuntime
from solomon import DATA, read_bks, read_solomon

from dispatch.solver import builders
from dispatch.solver.analysis import analyse
from dispatch.solver.vroom_json import problem_from_json


def builder_data(name: str) -> tuple[Any, Any]:
    """PyVRP's ProblemData and SolveParams exactly as FixRoute's builder makes them."""
    problem = problem_from_json(read_solomon(DATA / f"{name}.txt"))
    inp = builders.pyvrp_input(problem, analyse(problem))
    return inp.data, inp.params


def run_variant(data: Any, params: Any, budget: float, runs: int, history: int) -> tuple[bool, float]:
    """Shortest feasible distance (in the file's units) of ``runs`` seeds sharing ``budget``."""
    ils = IteratedLocalSearchParams(history_length=history)
    p = SolveParams(penalty=params.penalty, ils=ils)
    best = None
    for seed in range(runs):
        res = pyvrp.solve(data, MaxRuntime(budget / runs), seed=seed, collect_stats=False, params=p)
        if best is None or res.cost() < best.cost():
            best = res
    assert best is not None
    return best.is_feasible(), best.best.distance() / 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=50.0, help="PyVRP seconds per instance and variant")
    ap.add_argument("--only", required=True, help="comma list of Solomon instances")
    ap.add_argument("--variants", default="1x300,3x300,3x1000", help="comma list of RUNSxHISTORY")
    args = ap.parse_args()
    try:
        variants = [tuple(int(x) for x in v.split("x")) for v in args.variants.split(",")]
        assert all(len(v) == 2 and v[0] >= 1 and v[1] >= 1 for v in variants)
    except (ValueError, AssertionError):
        ap.error(f"argument --variants: {args.variants!r} is not a comma list of RUNSxHISTORY, e.g. 3x1000")
    bks = read_bks()
    names = args.only.split(",")
    unknown = [n for n in names if n not in bks]
    if unknown:
        ap.error(f"argument --only: unknown instances {', '.join(unknown)}")
    gaps: dict[tuple[int, ...], list[float]] = {v: [] for v in variants}
    print("| instance | " + " | ".join(f"{r} x {h}" for r, h in variants) + " |")
    print("|---|" + "---|" * len(variants))
    for name in names:
        data, params = builder_data(name)
        cells = []
        for v in variants:
            t0 = time.monotonic()
            feasible, dist = run_variant(data, params, args.budget, *v)
            gap = 100.0 * (dist - bks[name][1]) / bks[name][1]
            gaps[v].append(gap if feasible else float("nan"))
            cells.append(f"{gap:.2f} ({time.monotonic() - t0:.0f} s)" if feasible else "infeasible")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print("| **mean** | " + " | ".join(f"**{sum(g) / len(g):.2f}**" for g in gaps.values()) + " |")


if __name__ == "__main__":
    main()
