"""The routes of a plan, from the order of their visits.

Times reported in the solution are the *earliest* schedule of the routes the
solver chose (recomputed in Python): never later than the solver's own cumuls,
so every window the solver respected stays respected, and lateness and overtime
only shrink.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import _pad, horizon_of
from .model import Problem, Route, Solution, SolverStats, Step, Summary, Unassigned


@dataclass
class Node:
    """One node of the OR-Tools model: a vehicle's start or end, a visit, or a depot pickup."""

    kind: str  # start | end | job | jobdep | pickup
    loc: int  # location index, -1 = anywhere (vehicle without start/end)
    service: int = 0
    job: int | None = None
    vehicle: int | None = None
    depot: int | None = None
    win: tuple[int, int] | None = None  # the one window of this variant (None: job's own list)

    @property
    def job_index(self) -> int:
        """The job a visit or pickup node serves (start and end nodes serve none)."""
        if self.job is None:
            raise ValueError(f"a {self.kind} node serves no job")
        return self.job

    @property
    def depot_index(self) -> int:
        """The depot of a pickup node."""
        if self.depot is None:
            raise ValueError(f"a {self.kind} node is at no depot")
        return self.depot

def build_route(
    p: Problem,
    v: int,
    nodes: list[Node],
    seq: list[int],
    brk_after: dict[int, list[tuple[int, int]]],
    K: int,
    horizon: int | None = None,
) -> Route:
    """Earliest schedule of a node sequence (with breaks placed after positions).

    A job with a ``preferred_window`` (what its merchant was told) waits for that
    window to open when it would otherwise start early, unless waiting makes the route
    later for an SLA, a window or the shift: then the plain earliest schedule stands.

    ``horizon``: ``horizon_of(p)`` if the caller has it (it scans the whole matrix:
    3 s over 60 routes of a 1,000-visit day when computed per route).
    """
    plain = _schedule(p, v, nodes, seq, brk_after, K, horizon, wait_for_told=False)
    if not any(nodes[n].kind in ("job", "jobdep") and p.jobs[nodes[n].job_index].preferred_window is not None
               for n in seq):
        return plain
    waited = _schedule(p, v, nodes, seq, brk_after, K, horizon, wait_for_told=True)
    if waited.lateness > plain.lateness or _breaks_hard_time(p, v, waited):
        return plain
    return waited


def _breaks_hard_time(p: Problem, v: int, route: Route) -> bool:
    """Whether a schedule starts a job or break outside its windows or returns after the shift."""
    veh = p.vehicles[v]
    by_id = {j.id: j for j in p.jobs}
    for st in route.steps:
        if st.type == "job" and st.id is not None:
            wins = by_id[st.id].time_windows
            if wins and not any(a <= st.service_start <= z for a, z in wins):
                return True
        elif st.type == "break":
            wins = next((b.time_windows for b in veh.breaks if b.id == st.id), [])
            if wins and not any(a <= st.service_start <= z for a, z in wins):
                return True
        elif st.type == "end" and veh.time_window and st.arrival > veh.time_window[1]:
            return True
    return False


def _schedule(
    p: Problem,
    v: int,
    nodes: list[Node],
    seq: list[int],
    brk_after: dict[int, list[tuple[int, int]]],
    K: int,
    horizon: int | None,
    wait_for_told: bool,
) -> Route:
    """Earliest schedule of a node sequence; with ``wait_for_told``, jobs do not start
    before their preferred window opens when one of their windows allows it."""
    veh = p.vehicles[v]
    H = horizon if horizon is not None else horizon_of(p)
    s, _e = veh.time_window if veh.time_window else (0, H)
    D = p.durations
    Dist = p.distances
    steps: list[Step] = []
    # load: van-served deliveries on board + parts picked for later jobs
    van_total = [0] * K
    for n in seq:
        if nodes[n].kind == "job":
            van_total = [a + b for a, b in zip(van_total, _pad(p.jobs[nodes[n].job_index].delivery, K), strict=True)]
    load = list(van_total)
    prev_loc: int | None = nodes[seq[0]].loc if nodes[seq[0]].loc >= 0 else None
    start_loc = prev_loc
    steps.append(Step("start", start_loc, arrival=s, service_start=s, end=s, load=list(load)))
    prev_end = s
    free = s
    acc_break = 0
    for i, n in enumerate(seq[1:], start=1):
        node = nodes[n]
        # breaks scheduled after position i-1
        for _bs, b in sorted(brk_after.get(i - 1, [])):
            brk = veh.breaks[b]
            st = free
            for a, z in brk.time_windows:
                if z >= free:
                    st = max(free, a)
                    break
            steps.append(Step("break", None, id=brk.id, arrival=st, service_start=st, end=st + brk.service,
                              service=brk.service, load=list(load)))
            free = st + brk.service
            acc_break += brk.service
        loc = node.loc if node.loc >= 0 else None
        if loc is None or prev_loc is None:  # an end anywhere, or a start from anywhere
            loc_travel, dist = 0, 0
        else:
            loc_travel = D[prev_loc][loc]
            dist = Dist[prev_loc][loc] if Dist is not None else 0
        ready = max(prev_end + loc_travel + acc_break, free)
        if node.kind == "end":
            steps.append(Step("end", loc, arrival=ready, service_start=ready, end=ready,
                              duration=loc_travel, distance=dist, load=list(load)))
            break
        if node.kind in ("job", "jobdep"):
            job = p.jobs[node.job_index]
            wins = job.time_windows or [(0, H)]
        else:
            dep = p.depots[node.depot_index]
            wins = dep.time_windows or [(0, H)]
        st = ready
        for a, z in wins:
            if z >= ready:
                st = max(ready, a)
                break
        if wait_for_told and node.kind != "pickup":
            told = p.jobs[node.job_index].preferred_window
            if told is not None and st < told[0] and any(a <= told[0] <= z for a, z in wins):
                st = told[0]
        end = st + node.service
        if node.kind == "pickup":
            job = p.jobs[node.job_index]
            parts = _pad(job.delivery, K)
            load = [a + b for a, b in zip(load, parts, strict=True)]
            steps.append(Step("pickup", loc, id=job.id, arrival=ready, service_start=st, end=end,
                              service=node.service, waiting_time=st - ready, duration=loc_travel,
                              distance=dist, load=list(load), depot=p.depots[node.depot_index].id,
                              for_job=job.id, parts=parts))
        else:
            job = p.jobs[node.job_index]
            load = [a - b for a, b in zip(load, _pad(job.delivery, K), strict=True)]
            late = max(0, st - job.due) if job.due is not None else 0
            via = _depot_of(nodes, seq, i)
            steps.append(Step("job", loc, id=job.id, arrival=ready, service_start=st, end=end,
                              service=node.service, waiting_time=st - ready, duration=loc_travel,
                              distance=dist, load=list(load), lateness=late,
                              depot=p.depots[via].id if via is not None else None))
        prev_end = end
        free = end
        acc_break = 0
        if loc is not None:
            prev_loc = loc
    return finish_route(p, v, steps, K)


def _depot_of(nodes: list[Node], seq: list[int], i: int) -> int | None:
    node = nodes[seq[i]]
    if node.kind != "jobdep":
        return None
    for n in seq[:i]:
        if nodes[n].kind == "pickup" and nodes[n].job == node.job:
            return nodes[n].depot
    return None


def finish_route(p: Problem, v: int, steps: list[Step], K: int) -> Route:
    """Route figures from its steps (VROOM's: duration = travel time)."""
    veh = p.vehicles[v]
    by_id = {j.id: j for j in p.jobs}
    travel = sum(st.duration for st in steps)
    distance = sum(st.distance for st in steps)
    jobs = [(st, by_id[st.id]) for st in steps if st.type == "job" and st.id is not None]
    cost = veh.costs.fixed + veh.costs.per_hour * travel / 3600.0 + veh.costs.per_km * distance / 1000.0
    delivery = [0] * K
    for _st, job in jobs:
        delivery = [a + b for a, b in zip(delivery, _pad(job.delivery, K), strict=True)]
    end = steps[-1].arrival
    overtime = max(0, end - veh.overtime_after) if veh.overtime_after is not None else 0
    return Route(
        vehicle=veh.id,
        steps=steps,
        cost=round(cost),
        service=sum(st.service for st in steps if st.type != "break"),
        duration=travel,
        waiting_time=sum(st.waiting_time for st in steps),
        distance=distance,
        priority=sum(job.priority for _st, job in jobs),
        delivery=delivery,
        lateness=sum(st.lateness for st, _job in jobs),
        overtime=overtime,
    )


def make_solution(p: Problem, routes: list[Route], unassigned: list[Unassigned], stats: SolverStats) -> Solution:
    K = p.n_kinds
    summ = Summary(
        cost=sum(r.cost for r in routes),
        routes=len(routes),
        unassigned=len(unassigned),
        assigned=sum(len(r.job_ids) for r in routes),
        service=sum(r.service for r in routes),
        duration=sum(r.duration for r in routes),
        waiting_time=sum(r.waiting_time for r in routes),
        priority=sum(r.priority for r in routes),
        delivery=[sum(r.delivery[k] for r in routes) for k in range(K)],
        distance=sum(r.distance for r in routes),
        lateness=sum(r.lateness for r in routes),
        overtime=sum(r.overtime for r in routes),
    )
    return Solution(routes=routes, unassigned=unassigned, summary=summ, stats=stats)
