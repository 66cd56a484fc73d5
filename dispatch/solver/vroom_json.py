"""Read and write the VROOM problem/solution JSON.

Why VROOM's format: it is the de-facto open standard for routing requests, so a
dispatcher's problem file can be fed to FixRoute and to VROOM unchanged, and the
answers compared (``benchmarks/field_days.py`` does exactly that).

Supported input (VROOM names): ``vehicles[]`` (``id``, ``start``/``end`` as
[lon, lat] or ``start_index``/``end_index``, ``time_window``, ``capacity``,
``skills``, ``breaks[]`` {id, time_windows, service}, ``max_tasks``,
``max_travel_time``, ``steps[]`` {type, id, service_at/after/before},
``costs`` {fixed, per_hour, per_km}), ``jobs[]`` (``id``, ``location`` or
``location_index``, ``service``, ``delivery``, ``skills``, ``priority``,
``time_windows``), and travel as ``matrices: {profile: {durations, distances}}``
or the legacy top-level ``matrix`` (durations).  Without matrices, coordinates
are turned into a matrix by ``dispatch.solver.matrix`` (straight line x detour, or
OSRM when a URL is given).  ``shipments`` and job ``pickup`` amounts are not
supported and are rejected with a ``ProblemError``.

FixRoute extensions all carry the prefix ``x_fixroute_`` (VROOM ignores unknown
keys; strip them to be safe):

* job ``x_fixroute_due`` (seconds) and ``x_fixroute_lateness_cost_per_minute``:
  soft deadline on the service start;
* job ``x_fixroute_optional`` (bool): preventive visit that only fills gaps;
* job ``x_fixroute_preferred_vehicle`` (vehicle id) with
  ``x_fixroute_vehicle_change_cost``, and ``x_fixroute_preferred_window`` ([start, end])
  with ``x_fixroute_window_change_cost_per_minute``: what a published day told the
  merchant, kept unless something more important needs the change;
* vehicle ``x_fixroute_overtime_after`` (seconds) and
  ``costs.x_fixroute_overtime_per_hour``: overtime after the nominal shift end;
* top-level ``x_fixroute_depots[]`` {id, location|location_index, stock[],
  service, time_windows} where parts can be collected, and
  ``x_fixroute_part_kinds`` (names of the capacity dimensions);
* output: ``unassigned[].reason`` (a sentence) and ``x_fixroute_reason`` (the code:
  no_skill, no_part, unreachable_time_window, capacity_of_day); route steps of
  type ``pickup`` with ``x_fixroute_depot``, ``x_fixroute_for_job`` and
  ``x_fixroute_parts``; job steps served through a depot carry
  ``x_fixroute_depot``; ``x_fixroute_lateness`` on steps, routes and summary;
  ``x_fixroute_stats`` (solver statistics) at the top level.

As in VROOM, step ``duration``/``distance`` in the output are *cumulated* travel
upon arrival; in the dataclasses they are per leg.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from .checks import check_problem
from .errors import ProblemError
from .model import (
    REASONS,
    Break,
    Costs,
    Depot,
    Job,
    Problem,
    Route,
    Skill,
    Solution,
    SolverStats,
    Step,
    Summary,
    Unassigned,
    Vehicle,
    VehicleStep,
)

if TYPE_CHECKING:
    from .matrix import MatrixProvider

X = "x_fixroute_"


def _int(value: Any, field: str, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            value = math.trunc(value)
        else:
            raise ProblemError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ProblemError(field, f"must be >= {minimum}, got {value}")
    return int(value)


def _opt_int(obj: dict[str, Any], key: str, field: str, minimum: int | None = 0) -> int | None:
    """``obj[key]`` as an integer, or None when it is absent or null."""
    return _int(obj[key], field, minimum) if obj.get(key) is not None else None


def _ints(values: Any, field: str) -> list[int]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise ProblemError(field, "must be a list of integers")
    return [_int(v, f"{field}[{k}]") for k, v in enumerate(values)]


def _skills(values: Any, field: str) -> list[Skill]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise ProblemError(field, "must be a list of integers")
    out: list[Skill] = []
    for k, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise ProblemError(f"{field}[{k}]", f"skill must be an integer, got {v!r}")
        out.append(int(v))
    return out


def _windows(values: Any, field: str) -> list[tuple[int, int]]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise ProblemError(field, "must be a list of [start, end] pairs")
    out = []
    for k, w in enumerate(values):
        if not isinstance(w, list) or len(w) != 2:
            raise ProblemError(f"{field}[{k}]", "must be a pair [start, end]")
        a, b = _int(w[0], f"{field}[{k}][0]", None), _int(w[1], f"{field}[{k}][1]", None)
        if b < a:
            raise ProblemError(f"{field}[{k}]", f"window end {b} is before its start {a}")
        out.append((a, b))
    return sorted(out)


def _coord(value: Any, field: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(x, Real) and not isinstance(x, bool) for x in value)):
        raise ProblemError(field, "must be [lon, lat]")
    return (float(value[0]), float(value[1]))


def _matrix(m: Any, field: str) -> list[list[int]]:
    if not isinstance(m, list) or not all(isinstance(r, list) for r in m):
        raise ProblemError(field, "must be a list of rows")
    out = []
    for r, row in enumerate(m):
        try:
            out.append([int(x) for x in row])
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"{field}[{r}]", "entries must be integers") from exc
    return out


def problem_from_json(
    data: object,
    matrix_provider: MatrixProvider | None = None,
) -> Problem:
    """Parse a VROOM problem (with FixRoute extensions) into a checked ``Problem``.

    ``data`` is whatever the JSON held: anything but an object is a ``ProblemError``.
    """
    if not isinstance(data, dict):
        raise ProblemError("$", "a problem is a JSON object")
    if data.get("shipments"):
        raise ProblemError("shipments", "shipments are not supported; use jobs (and depots for parts)")
    raw_v = data.get("vehicles")
    raw_j = data.get("jobs", [])
    if not isinstance(raw_v, list) or not raw_v:
        raise ProblemError("vehicles", "at least one vehicle is required")
    if not isinstance(raw_j, list):
        raise ProblemError("jobs", "must be a list")
    raw_d = data.get(X + "depots", []) or []

    # locations: explicit indices or coordinates to be indexed
    coords: list[tuple[float, float]] = []
    coord_index: dict[tuple[float, float], int] = {}

    def place(
        obj: dict[str, Any], idx_key: str, coord_key: str, field: str, required: bool
    ) -> tuple[int | None, tuple[float, float] | None]:
        if obj.get(idx_key) is not None:
            c = _coord(obj[coord_key], f"{field}.{coord_key}") if obj.get(coord_key) is not None else None
            return _int(obj[idx_key], f"{field}.{idx_key}"), c
        if obj.get(coord_key) is not None:
            c = _coord(obj[coord_key], f"{field}.{coord_key}")
            if c not in coord_index:
                coord_index[c] = len(coords)
                coords.append(c)
            return -1 - coord_index[c], c  # provisional: resolved below
        if required:
            raise ProblemError(f"{field}.{idx_key}", f"needs {coord_key} or {idx_key}")
        return None, None

    vehicles: list[Vehicle] = []
    for i, v in enumerate(raw_v):
        f = f"vehicles[{i}]"
        if not isinstance(v, dict):
            raise ProblemError(f, "must be an object")
        for key in ("pickup",):
            if v.get(key):
                raise ProblemError(f"{f}.{key}", "not supported")
        s_idx, s_c = place(v, "start_index", "start", f, False)
        e_idx, e_c = place(v, "end_index", "end", f, False)
        if s_idx is None and e_idx is None:
            raise ProblemError(f"{f}.start", "a vehicle needs a start or an end")
        tw = None
        if v.get("time_window") is not None:
            tw = _windows([v["time_window"]], f"{f}.time_window")[0]
        breaks = []
        for b, br in enumerate(v.get("breaks", []) or []):
            fb = f"{f}.breaks[{b}]"
            breaks.append(Break(id=_int(br.get("id", b), f"{fb}.id", None),
                                time_windows=_windows(br.get("time_windows"), f"{fb}.time_windows"),
                                service=_int(br.get("service", 0), f"{fb}.service"),
                                description=str(br.get("description", ""))))
        steps = []
        for s, st in enumerate(v.get("steps", []) or []):
            fs = f"{f}.steps[{s}]"
            typ = st.get("type")
            if typ not in ("start", "job", "break", "end"):
                raise ProblemError(f"{fs}.type", f"unsupported step type {typ!r}")
            steps.append(VehicleStep(
                type=typ,
                id=_opt_int(st, "id", f"{fs}.id", None),
                service_at=_opt_int(st, "service_at", f"{fs}.service_at", None),
                service_after=_opt_int(st, "service_after", f"{fs}.service_after", None),
                service_before=_opt_int(st, "service_before", f"{fs}.service_before", None),
            ))
        c = v.get("costs", {}) or {}
        costs = Costs(fixed=c.get("fixed", 0), per_hour=c.get("per_hour", 3600), per_km=c.get("per_km", 0),
                      overtime_per_hour=c.get(X + "overtime_per_hour", 0))
        vehicles.append(Vehicle(
            id=_int(v.get("id"), f"{f}.id", None),
            start_index=s_idx, end_index=e_idx, time_window=tw,
            capacity=_ints(v.get("capacity"), f"{f}.capacity"),
            skills=_skills(v.get("skills"), f"{f}.skills"),
            breaks=breaks,
            max_tasks=_opt_int(v, "max_tasks", f"{f}.max_tasks"),
            max_travel_time=_opt_int(v, "max_travel_time", f"{f}.max_travel_time"),
            steps=steps, costs=costs,
            overtime_after=_opt_int(v, X + "overtime_after", f"{f}.{X}overtime_after", None),
            description=str(v.get("description", "")),
            start=s_c, end=e_c,
        ))
    jobs: list[Job] = []
    for i, j in enumerate(raw_j):
        f = f"jobs[{i}]"
        if not isinstance(j, dict):
            raise ProblemError(f, "must be an object")
        if j.get("pickup") and any(j["pickup"]):
            raise ProblemError(f"{f}.pickup", "job pickup amounts are not supported")
        loc, c = place(j, "location_index", "location", f, True)
        delivery = j.get("delivery", j.get("amount"))
        late = j.get(X + "lateness_cost_per_minute", 0)
        if isinstance(late, bool) or not isinstance(late, Real):
            raise ProblemError(f"{f}.{X}lateness_cost_per_minute", "must be a number")
        rates = {}
        for key in ("vehicle_change_cost", "window_change_cost_per_minute"):
            rate = j.get(X + key, 0)
            if isinstance(rate, bool) or not isinstance(rate, Real) or rate < 0:
                raise ProblemError(f"{f}.{X}{key}", "must be a number >= 0")
            rates[key] = float(rate)
        pref_w = j.get(X + "preferred_window")
        pref_v = j.get(X + "preferred_vehicle")
        jobs.append(Job(
            id=_int(j.get("id"), f"{f}.id", None),
            location_index=loc,  # type: ignore[arg-type]
            service=_int(j.get("service", 0), f"{f}.service") + _int(j.get("setup", 0), f"{f}.setup"),
            delivery=_ints(delivery, f"{f}.delivery"),
            skills=_skills(j.get("skills"), f"{f}.skills"),
            priority=_int(j.get("priority", 0), f"{f}.priority"),
            time_windows=_windows(j.get("time_windows"), f"{f}.time_windows"),
            due=_opt_int(j, X + "due", f"{f}.{X}due", None),
            lateness_cost_per_minute=float(late),
            optional=bool(j.get(X + "optional", False)),
            description=str(j.get("description", "")),
            location=c,
            preferred_vehicle=_int(pref_v, f"{f}.{X}preferred_vehicle", None) if pref_v is not None else None,
            preferred_window=_windows([pref_w], f"{f}.{X}preferred_window")[0] if pref_w is not None else None,
            **rates,
        ))
    depots: list[Depot] = []
    for i, d in enumerate(raw_d):
        f = f"{X}depots[{i}]"
        loc, _c = place(d, "location_index", "location", f, True)
        depots.append(Depot(id=_int(d.get("id", i), f"{f}.id", None), location_index=loc,  # type: ignore[arg-type]
                            stock=_ints(d.get("stock"), f"{f}.stock"),
                            service=_int(d.get("service", 600), f"{f}.service"),
                            time_windows=_windows(d.get("time_windows"), f"{f}.time_windows"),
                            description=str(d.get("description", ""))))

    durations = distances = None
    mats = data.get("matrices")
    if mats:
        if not isinstance(mats, dict) or not mats:
            raise ProblemError("matrices", "must map a profile to {durations, distances}")
        profile = "car" if "car" in mats else next(iter(mats))
        prof = mats[profile]
        if "durations" not in prof:
            raise ProblemError(f"matrices.{profile}.durations", "missing")
        durations = _matrix(prof["durations"], f"matrices.{profile}.durations")
        if prof.get("distances") is not None:
            distances = _matrix(prof["distances"], f"matrices.{profile}.distances")
    elif data.get("matrix") is not None:
        durations = _matrix(data["matrix"], "matrix")
    if coords:
        if durations is not None:
            raise ProblemError("matrices", "mixing coordinates without index and a matrix is ambiguous")
        if matrix_provider is None:
            from .matrix import haversine_matrices

            matrix_provider = haversine_matrices
        durations, distances = matrix_provider(coords)

        def fix(i: int | None) -> int | None:
            return -1 - i if i is not None and i < 0 else i

        for v in vehicles:
            v.start_index, v.end_index = fix(v.start_index), fix(v.end_index)
        for j in jobs:
            j.location_index = fix(j.location_index)  # type: ignore[assignment]
        for d in depots:
            d.location_index = fix(d.location_index)  # type: ignore[assignment]
    if durations is None:
        raise ProblemError("matrices", "give matrices (durations) or coordinates for every location")
    kinds = data.get(X + "part_kinds") or []
    problem = Problem(vehicles=vehicles, jobs=jobs, durations=durations, distances=distances,
                      depots=depots, part_kinds=[str(k) for k in kinds])
    check_problem(problem)
    return problem


def problem_to_json(problem: Problem, extensions: bool = True) -> dict[str, Any]:
    """The VROOM JSON of a problem (``extensions=False`` drops ``x_fixroute_`` keys for VROOM)."""
    vs = []
    for v in problem.vehicles:
        d: dict[str, Any] = {"id": v.id}
        if v.start_index is not None:
            d["start_index"] = v.start_index
        if v.end_index is not None:
            d["end_index"] = v.end_index
        if v.time_window is not None:
            d["time_window"] = list(v.time_window)
        if v.capacity:
            d["capacity"] = list(v.capacity)
        if v.skills:
            d["skills"] = list(v.skills)
        if v.breaks:
            d["breaks"] = [{"id": b.id, "time_windows": [list(w) for w in b.time_windows], "service": b.service}
                           for b in v.breaks]
        if v.max_tasks is not None:
            d["max_tasks"] = v.max_tasks
        if v.max_travel_time is not None:
            d["max_travel_time"] = v.max_travel_time
        if v.steps:
            d["steps"] = [{k: val for k, val in asdict(s).items() if val is not None} for s in v.steps]
        costs: dict[str, Any] = {"fixed": v.costs.fixed, "per_hour": v.costs.per_hour}
        if v.costs.per_km:
            costs["per_km"] = v.costs.per_km
        if extensions and v.costs.overtime_per_hour:
            costs[X + "overtime_per_hour"] = v.costs.overtime_per_hour
        d["costs"] = costs
        if extensions and v.overtime_after is not None:
            d[X + "overtime_after"] = v.overtime_after
        if v.description:
            d["description"] = v.description
        vs.append(d)
    js = []
    for j in problem.jobs:
        d = {"id": j.id, "location_index": j.location_index, "service": j.service}
        if j.delivery:
            d["delivery"] = list(j.delivery)
        if j.skills:
            d["skills"] = list(j.skills)
        if j.priority:
            d["priority"] = j.priority
        if j.time_windows:
            d["time_windows"] = [list(w) for w in j.time_windows]
        if j.description:
            d["description"] = j.description
        if extensions:
            if j.due is not None:
                d[X + "due"] = j.due
                d[X + "lateness_cost_per_minute"] = j.lateness_cost_per_minute
            if j.optional:
                d[X + "optional"] = True
            if j.preferred_vehicle is not None:
                d[X + "preferred_vehicle"] = j.preferred_vehicle
                d[X + "vehicle_change_cost"] = j.vehicle_change_cost
            if j.preferred_window is not None:
                d[X + "preferred_window"] = list(j.preferred_window)
                d[X + "window_change_cost_per_minute"] = j.window_change_cost_per_minute
        js.append(d)
    mat: dict[str, Any] = {"durations": problem.durations}
    if problem.distances is not None:
        mat["distances"] = problem.distances
    out: dict[str, Any] = {"vehicles": vs, "jobs": js, "matrices": {"car": mat}}
    if extensions and problem.depots:
        out[X + "depots"] = [{"id": d.id, "location_index": d.location_index, "stock": list(d.stock),
                              "service": d.service, "time_windows": [list(w) for w in d.time_windows]}
                             for d in problem.depots]
    if extensions and problem.part_kinds:
        out[X + "part_kinds"] = list(problem.part_kinds)
    return out


def _loc(problem: Problem | None, idx: int | None) -> list[float] | None:
    if problem is None or idx is None:
        return None
    for j in problem.jobs:
        if j.location_index == idx and j.location is not None:
            return list(j.location)
    for v in problem.vehicles:
        if v.start_index == idx and v.start is not None:
            return list(v.start)
        if v.end_index == idx and v.end is not None:
            return list(v.end)
    return None


def solution_to_json(solution: Solution, problem: Problem | None = None) -> dict[str, Any]:
    """The VROOM-shaped answer (plus ``x_fixroute_`` fields)."""
    routes = []
    for r in solution.routes:
        steps = []
        cum_d = cum_m = 0
        for s in r.steps:
            cum_d += s.duration
            cum_m += s.distance
            d: dict[str, Any] = {"type": s.type}
            if s.location_index is not None:
                d["location_index"] = s.location_index
                loc = _loc(problem, s.location_index)
                if loc is not None:
                    d["location"] = loc
            if s.type in ("job", "break"):
                d["id"] = s.id
            d.update({"setup": 0, "service": s.service, "waiting_time": s.waiting_time, "load": s.load,
                      "arrival": s.arrival, "duration": cum_d, "distance": cum_m, "violations": []})
            if s.type == "job":
                if s.lateness:
                    d[X + "lateness"] = s.lateness
                if s.depot is not None:
                    d[X + "depot"] = s.depot
            if s.type == "pickup":
                d[X + "depot"] = s.depot
                d[X + "for_job"] = s.for_job
                d[X + "parts"] = s.parts
            steps.append(d)
        routes.append({
            "vehicle": r.vehicle, "cost": r.cost, "setup": 0, "service": r.service, "duration": r.duration,
            "waiting_time": r.waiting_time, "priority": r.priority, "delivery": r.delivery,
            "pickup": [0] * len(r.delivery), "distance": r.distance, "violations": [], "steps": steps,
            X + "lateness": r.lateness, X + "overtime": r.overtime,
        })
    summ = solution.summary
    unassigned = []
    for u in solution.unassigned:
        d = {"id": u.id, "type": u.type, "location_index": u.location_index,
             "reason": u.reason, X + "reason": u.code}
        loc = _loc(problem, u.location_index)
        if loc is not None:
            d["location"] = loc
        unassigned.append(d)
    return {
        "code": solution.code,
        "summary": {
            "cost": summ.cost, "routes": summ.routes, "unassigned": summ.unassigned, "setup": 0,
            "service": summ.service, "duration": summ.duration, "waiting_time": summ.waiting_time,
            "priority": summ.priority, "delivery": summ.delivery, "pickup": [0] * len(summ.delivery),
            "distance": summ.distance, "violations": [],
            "computing_times": {"loading": 0, "solving": int(solution.stats.wall_time_s * 1000), "routing": 0},
            X + "assigned": summ.assigned, X + "lateness": summ.lateness, X + "overtime": summ.overtime,
        },
        "unassigned": unassigned,
        "routes": routes,
        X + "stats": asdict(solution.stats),
    }


def solution_from_json(data: dict[str, Any], problem: Problem) -> Solution:
    """Read a VROOM-shaped answer (FixRoute's or VROOM's own) for ``validate``."""
    jobs = {j.id: j for j in problem.jobs}
    K = problem.n_kinds
    routes = []
    for r in data.get("routes", []):
        steps = []
        prev_d = prev_m = 0
        for s in r["steps"]:
            typ = s["type"]
            cum_d = s.get("duration", prev_d)
            cum_m = s.get("distance", prev_m)
            arrival = s.get("arrival", 0)
            start = arrival + s.get("waiting_time", 0)
            service = s.get("service", 0) + s.get("setup", 0)
            job = jobs.get(s.get("id")) if typ == "job" else None
            lateness = max(0, start - job.due) if job is not None and job.due is not None else 0
            steps.append(Step(
                type=typ, location_index=s.get("location_index"),
                id=s.get("id") if typ != "pickup" else s.get(X + "for_job"),
                arrival=arrival, service_start=start, end=start + service, service=service,
                waiting_time=s.get("waiting_time", 0), duration=cum_d - prev_d, distance=cum_m - prev_m,
                load=list(s.get("load", [])), lateness=lateness, depot=s.get(X + "depot"),
                for_job=s.get(X + "for_job"), parts=list(s.get(X + "parts", [])),
            ))
            prev_d, prev_m = cum_d, cum_m
        jids = [st.id for st in steps if st.type == "job"]
        routes.append(Route(
            vehicle=r["vehicle"], steps=steps, cost=r.get("cost", 0), service=r.get("service", 0),
            duration=r.get("duration", 0), waiting_time=r.get("waiting_time", 0), distance=r.get("distance", 0),
            priority=r.get("priority", 0), delivery=list(r.get("delivery", [0] * K)),
            lateness=sum(st.lateness for st in steps), overtime=r.get(X + "overtime", 0),
        ))
        del jids
    unassigned = []
    for u in data.get("unassigned", []):
        code = u.get(X + "reason", "capacity_of_day")
        unassigned.append(Unassigned(u["id"], u.get("location_index"), code, u.get("reason", REASONS.get(code, ""))))
    s = data.get("summary", {})
    summ = Summary(
        cost=s.get("cost", 0), routes=s.get("routes", len(routes)), unassigned=s.get("unassigned", len(unassigned)),
        assigned=sum(len(r.job_ids) for r in routes), service=s.get("service", 0), duration=s.get("duration", 0),
        waiting_time=s.get("waiting_time", 0), priority=s.get("priority", 0), delivery=list(s.get("delivery", [])),
        distance=s.get("distance", 0), lateness=sum(r.lateness for r in routes), overtime=s.get(X + "overtime", 0),
    )
    st = data.get(X + "stats") or {}
    stats = SolverStats(**{k: v for k, v in st.items() if k in SolverStats.__dataclass_fields__})
    return Solution(routes=routes, unassigned=unassigned, summary=summ, stats=stats, code=data.get("code", 0))
