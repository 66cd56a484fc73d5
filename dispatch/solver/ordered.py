"""A route in an order given from outside, timed and costed as the solver's own routes.

Why: the board's hand edits keep the dispatcher's order exactly (a solve would reorder
it), yet the route's figures after an edit (times, travel, lateness, overtime, cost) must
be the ones the solver reports for that same order, so the board and the optimiser never
disagree about a route.  The order becomes the solver's own route nodes and is timed by
``build_route`` (earliest schedule), whose figures come from ``finish_route``.

The one thing an order leaves open is where the lunch break goes.  It is taken where it
falls due: before the first stop that would start once its window has opened, or that
would end after the window closes.  When that loses a hard window (a shop closed over
lunch, say) and another placement keeps every window, the placement that brings the
technician back earliest is kept instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import Problem, Route, Window
from .schedule import Node, _breaks_hard_time, build_route

#: ``build_route`` closes a missing window at its horizon; a route in a given order needs
#: no bound (a step past every window starts when it is ready either way), and the real
#: horizon scans the whole matrix: too slow for the board's many trial routes.
_OPEN = 10**9


def route_in_order(
    problem: Problem,
    vehicle: int,
    job_ids: Sequence[int],
    via_depot: Mapping[int, int] | None = None,
) -> Route:
    """The solver's route of ``problem.vehicles[vehicle]`` serving ``job_ids`` in that order.

    A job in ``via_depot`` (job id -> depot id) collects its parts at that depot just
    before its visit instead of carrying them in the van.  The vehicle's first break is
    placed as the module docstring says.
    """
    p = problem
    veh = p.vehicles[vehicle]
    nodes = _nodes(p, vehicle, job_ids, via_depot or {})
    n_stops = len(nodes) - 2
    if not veh.breaks:
        return _timed(p, vehicle, nodes, None)
    plain = _timed(p, vehicle, nodes, n_stops)  # the break after the last stop
    due = _break_due(veh.breaks[0].time_windows, plain)
    route = plain if due is None else _timed(p, vehicle, nodes, due)
    if _keeps_windows(p, vehicle, route):
        return route
    feasible = [r for r in (_timed(p, vehicle, nodes, k) for k in range(n_stops + 1))
                if _keeps_windows(p, vehicle, r)]
    return min(feasible, key=lambda r: r.steps[-1].arrival) if feasible else route


def _nodes(p: Problem, vehicle: int, job_ids: Sequence[int], via_depot: Mapping[int, int]) -> list[Node]:
    """start, (pickup,) job, ..., end: the solver's nodes of one route."""
    veh = p.vehicles[vehicle]
    job_index = {j.id: i for i, j in enumerate(p.jobs)}
    depot_index = {d.id: i for i, d in enumerate(p.depots)}
    nodes = [Node("start", veh.start_index if veh.start_index is not None else -1, vehicle=vehicle)]
    for job_id in job_ids:
        j = job_index[job_id]
        job = p.jobs[j]
        d = depot_index.get(via_depot[job_id]) if job_id in via_depot else None
        if d is None:
            nodes.append(Node("job", job.location_index, job.service, job=j))
        else:
            dep = p.depots[d]
            nodes.append(Node("pickup", dep.location_index, dep.service, job=j, depot=d))
            nodes.append(Node("jobdep", job.location_index, job.service, job=j))
    nodes.append(Node("end", veh.end_index if veh.end_index is not None else -1, vehicle=vehicle))
    return nodes


def _timed(p: Problem, vehicle: int, nodes: list[Node], break_before: int | None) -> Route:
    """The route with the first break before stop ``break_before`` (0-based, pickups
    count; the number of stops: after the last), or without a break (None)."""
    brk_after = {} if break_before is None else {break_before: [(0, 0)]}
    return build_route(p, vehicle, nodes, list(range(len(nodes))), brk_after, p.n_kinds, _OPEN)


def _break_due(windows: list[Window], plain: Route) -> int | None:
    """The first stop the break falls due before, timed without it (None: after the last)."""
    a, z = windows[0] if windows else (0, _OPEN)
    stops = [st for st in plain.steps if st.type in ("job", "pickup")]
    return next((k for k, st in enumerate(stops) if st.service_start >= a or st.end > z), None)


def _keeps_windows(p: Problem, vehicle: int, route: Route) -> bool:
    """Visits, pickups and the break inside their windows; back before the shift ends."""
    if _breaks_hard_time(p, vehicle, route):
        return False
    depots = {d.id: d for d in p.depots}
    for st in route.steps:
        if st.type == "pickup" and st.depot in depots:
            wins = depots[st.depot].time_windows
            if wins and not any(a <= st.service_start <= z for a, z in wins):
                return False
    return True
