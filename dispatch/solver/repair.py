"""Reading a builder's proposed routes into the OR-Tools model, repairing what it refuses.

A route can break what its proposer did not model (a break, a pin, a part, a max travel
time).  A quick forward simulation in Python drops the visits that break it and
schedules the rest, so the model restores the routes by propagation only; what the
simulation misses is found by the model's own reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Literal, overload

from .analysis import _pad
from .objective import drop_penalty, required_base
from .schedule import Node

if TYPE_CHECKING:
    from ortools.constraint_solver import pywrapcp

    from .ortools_model import RoutingModel

#: one entry of a route's quick schedule: the breaks taken before a node, as
#: ("b", [(break, start)]), or a node and its service start
ScheduleItem = tuple[Literal["b"], list[tuple[int, int]]] | tuple[int, int]
#: a route's simulation after a node: (free from, node, breaks left, load, tasks, travel, schedule)
_State = tuple[int, int, list[int], list[int], int, int, tuple[ScheduleItem, ...]]
#: the state after visiting a node, or None if the route cannot go on
_Step = Callable[[_State, int], _State | None]


class RouteReader:
    """Reads proposed routes into one model's assignment; counts what its repair drops."""

    def __init__(self, model: RoutingModel) -> None:
        self.model = model
        self.problem, self.manager, self.routing, self.an = model.problem, model.manager, model.routing, model.an
        self.nodes, self.K, self.dur, self.tdim = model.nodes, model.K, model.dur, model.tdim
        self.van_node, self.dep_node, self.pick_node = model.van_node, model.dep_node, model.pick_node
        self.break_vars = model.break_vars
        self.repair_dropped = 0
        self.reinserted = 0
        self._quick_schedule: dict[int, tuple[ScheduleItem, ...] | None] = {}

    def read_routes(self, initial: dict[int, list[tuple[int, bool, int]]], deadline: float | None = None,
                    reinsert_deadline: float | None = None) -> pywrapcp.Assignment | None:
        """The full model's assignment of proposed routes, repaired if the model refuses them.

        A route can break what the proposer did not model (a break, a pin, a part, a
        max travel time).  It is not thrown away: its visits are kept in order as long
        as the growing route stays feasible on its own, the others stay unperformed for
        the search to reinsert.  Refused routes are found by halves and each one's longest
        readable prefix by bisection, so the reads grow with log(visits), not visits (each
        read restores the whole model: ~0.1 s on a 300-visit day with breaks).  Returns
        None only if nothing could be read.  Past ``deadline`` (``time.monotonic()``) the
        repair stops: what is not checked yet is left out.
        """
        routing = self.routing
        routes = self._routes_to_indices(initial, grouped=True)
        # a quick check in Python first (windows, shift, breaks, van stock, eligibility)
        # that also schedules the routes: restoring them with their times is propagation
        # only, where a read searches for every time and break (0.1-0.3 s on a 300-visit
        # day with breaks, 25-30 s on 1,000 visits)
        self._quick_schedule = {}
        self._depot_left = {d: _pad(dep.stock, self.K) for d, dep in enumerate(self.problem.depots)}
        self._repair_out: list[list[int]] = []
        for v in range(len(routes)):
            routes[v] = self._quick_repair(v, routes[v])
        self.reinserted = self._reinsert(routes, reinsert_deadline)
        start = self._restore_scheduled(routes)
        if start is not None:
            return start
        flat = [[i for unit in r for i in unit] for r in routes]
        start = routing.ReadAssignmentFromRoutes(flat, True)
        if start is not None:
            return start
        V = len(routes)
        # while one route is tried, the others hold only their pinned visits (pins must hold)
        pinned = {m_i for j in self.model.pinned_job_indices() for m_i in self.model.node_indices(j)}
        empty: list[list[int]] = []
        for units in routes:
            prefix: list[int] = []
            for unit in units:
                if not all(i in pinned for i in unit):
                    break
                prefix += unit
            empty.append(prefix)
        def ok(trial: list[list[int]]) -> bool:
            return routing.ReadAssignmentFromRoutes(trial, True) is not None

        def late() -> bool:
            return deadline is not None and time.monotonic() > deadline

        full = [[i for unit in units for i in unit] for units in routes]

        def refused(vs: list[int]) -> list[int]:
            """The routes refused on their own, by halves (few reads when few are bad)."""
            if late():
                return vs
            trial = list(empty)
            for v in vs:
                trial[v] = full[v]
            if ok(trial):
                return []
            if len(vs) == 1:
                return vs
            h = len(vs) // 2
            return refused(vs[:h]) + refused(vs[h:])

        kept = list(full)
        for v in refused([v for v in range(V) if routes[v]]):
            # keep the longest readable prefix, drop the visit that breaks it, go on
            units = routes[v]
            good: list[int] = []
            trial = list(empty)
            while units:
                if late():
                    self.repair_dropped += sum(1 for u in units if not all(i in pinned for i in u))
                    break
                lo, hi = 0, len(units)  # good + units[:lo] reads; find the largest such lo
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    trial[v] = good + [i for u in units[:mid] for i in u]
                    if ok(trial):
                        lo = mid
                    else:
                        hi = mid - 1
                good = good + [i for u in units[:lo] for i in u]
                if lo < len(units):
                    self.repair_dropped += 1  # units[lo] breaks the route
                units = units[lo + 1:]
            kept[v] = good if good or not empty[v] else empty[v]
        start = routing.ReadAssignmentFromRoutes(kept, True)
        while start is None and any(kept):
            # routes fine alone but not together (shared depot stock): drop the last visits
            longest = max(range(V), key=lambda v: len(kept[v]))
            kept[longest] = kept[longest][:-1]
            self.repair_dropped += 1
            start = routing.ReadAssignmentFromRoutes(kept, True)
        return start

    def _stepper(self, v: int) -> tuple[_Step, _State, int]:
        """Vehicle ``v``'s forward simulation: (step, start state, end node).

        The earliest schedule with each break taken in the last gap before it would be
        too late (or earlier where it costs no delay), the rule of ``validate.py``.  Soft
        costs are ignored.  A state is (free time, node, breaks left, load, tasks, travel,
        schedule); ``step(state, node)`` is the state after visiting ``node`` or None.
        """
        p, m, an = self.problem, self.manager, self.an
        veh = p.vehicles[v]
        H = an.horizon
        s, e = veh.time_window if veh.time_window else (0, H)
        brks = []
        for brk in veh.breaks:
            wins = [(max(a, s), min(z, e - brk.service)) for a, z in brk.time_windows]
            brks.append(([w for w in wins if w[0] <= w[1]], brk.service))
        caps = _pad(veh.capacity, self.K)
        end_node = m.IndexToNode(self.routing.End(v))
        dur = self.dur

        def windows(node: Node) -> list[tuple[int, int]]:
            if node.win is not None:
                return [node.win]
            if node.kind == "pickup":
                return p.depots[node.depot_index].time_windows or [(0, H)]
            return p.jobs[node.job_index].time_windows or [(0, H)]

        def first_start(ready: int, wins: list[tuple[int, int]]) -> int | None:
            for a, z in wins:
                if z >= ready:
                    return max(ready, a)
            return None

        def step(state: _State, n: int) -> _State | None:
            t, cur, left, load, tasks, trav, sched = state
            node = self.nodes[n]
            taken: list[tuple[int, int]] = []
            travel = int(dur[cur][n])
            wins = windows(node) if node.kind != "end" else [(0, e)]
            svc = node.service if node.kind != "end" else 0
            left = list(left)
            ready = t + travel
            st = first_start(ready, wins)
            for b in list(left):
                bw, d = brks[b]
                bs = first_start(t, bw)
                if bs is None:
                    return None
                ready_b = max(t + travel + d, bs + d)
                st_b = first_start(ready_b, wins)
                last_start = bw[-1][1]
                after = (st + svc) if st is not None else None
                if st_b is not None and (st_b == st or after is None or after > last_start
                                         or node.kind == "end"):
                    left.remove(b)
                    taken.append((b, bs))
                    ready, st = ready_b, st_b
            if st is None:
                return None
            if node.kind == "end":
                if st > e or left:
                    return None
                return (st, n, left, load, tasks, trav + travel, (*sched, ("b", taken), (n, st)))
            if node.kind in ("job", "jobdep"):
                j = node.job_index
                ok_v = an.van_vehicles.get(j, []) if node.kind == "job" else an.depot_vehicles.get(j, [])
                if v not in ok_v:
                    return None
                tasks += 1
                if veh.max_tasks is not None and tasks > veh.max_tasks:
                    return None
            if node.kind == "job" and self.K:
                load = [a + b for a, b in zip(load, _pad(p.jobs[node.job_index].delivery, self.K), strict=True)]
                if any(a > c for a, c in zip(load, caps, strict=True)):
                    return None
            trav += travel
            if veh.max_travel_time is not None and trav + int(dur[n][end_node]) > veh.max_travel_time:
                return None
            return (st + svc, n, left, load, tasks, trav, (*sched, ("b", taken), (n, st)))

        start_node = m.IndexToNode(self.routing.Start(v))
        state: _State = (s, start_node, list(range(len(brks))), [0] * self.K, 0, 0, ((start_node, s),))
        return step, state, end_node

    def _depot_need(self, unit: list[int]) -> tuple[int, list[int]] | None:
        """(depot, parts) a unit collects at a depot, or None if it collects nothing."""
        for i in unit:
            node = self.nodes[self.manager.IndexToNode(i)]
            if node.kind == "pickup":
                return node.depot_index, _pad(self.problem.jobs[node.job_index].delivery, self.K)
        return None

    def _take_depot_stock(self, unit: list[int], pinned: bool) -> bool:
        """Book a unit's depot parts in ``self._depot_left``; False if the depot is out.

        Why: a depot's stock is shared by every route; each route simulated alone
        cannot see that two routes collect its last card reader.  Pinned visits always
        book (their parts are already promised)."""
        need = self._depot_need(unit)
        if need is None:
            return True
        d, parts = need
        left = self._depot_left[d]
        if not pinned and any(a < b for a, b in zip(left, parts, strict=True)):
            return False
        self._depot_left[d] = [a - b for a, b in zip(left, parts, strict=True)]
        return True

    def _quick_repair(self, v: int, units: list[list[int]]) -> list[list[int]]:
        """Drop the units of vehicle ``v``'s route that a forward simulation finds infeasible.

        What this misses (pins' service times) is left to the model's own reads; depot
        stock shared between routes is booked in ``self._depot_left``.
        """
        if v in self.an.unusable:
            self.repair_dropped += sum(1 for u in units if not any(i in self._pinned_idx for i in u))
            self._repair_out += [u for u in units if not any(i in self._pinned_idx for i in u)]
            return [u for u in units if any(i in self._pinned_idx for i in u)]
        step, state, end_node = self._stepper(v)
        m = self.manager
        kept: list[list[int]] = []
        for unit in units:
            pinned = any(i in self._pinned_idx for i in unit)
            nxt: _State | None = state
            for i in unit:
                nxt = step(nxt, m.IndexToNode(i)) if nxt is not None else None
            if nxt is not None and step(nxt, end_node) is None:
                nxt = None  # could not get back (with its breaks) in the shift
            if (nxt is None or not self._take_depot_stock(unit, pinned)) and not pinned:
                self.repair_dropped += 1
                self._repair_out.append(unit)
                continue
            kept.append(unit)
            state = nxt if nxt is not None else state
        final = step(state, end_node)
        self._quick_schedule[v] = final[6] if final is not None else None
        return kept

    def _unit_variants(self, j: int) -> list[list[int]]:
        """Every way to visit job ``j``: from the van or through its depot, per window."""
        m = self.manager
        out = [[m.NodeToIndex(n)] for n in self.van_node.get(j, [])]
        for dn, pn in zip(self.dep_node.get(j, []), self.pick_node.get(j, []), strict=True):
            out.append([m.NodeToIndex(pn), m.NodeToIndex(dn)])
        return out

    def _reinsert(self, routes: list[list[list[int]]], deadline: float | None) -> int:
        """Insert left-out jobs where the simulation says they fit, cheapest travel first.

        Why: a builder's plan that the full model refuses in places (a depot's last
        part, a break, a window it approximated) loses the visits the repair drops,
        and guided local search does not bring them back in the seconds left (a
        dropped required visit stayed dropped on the 100/10 field day).  Jobs are taken
        by drop penalty (required and high priority first), each at its cheapest
        feasible place among every route, variant and position.  Returns how many.
        """
        p, m, an = self.problem, self.manager, self.an
        in_route = {self.nodes[m.IndexToNode(i)].job for r in routes for u in r for i in u}
        req = required_base(p)
        pinned_ids = set(self.model.pinned_jobs if self.model.keep_pins else ())
        variants: dict[int, list[list[int]]] = {}

        def units_of(j: int) -> list[list[int]]:
            if j not in variants:
                variants[j] = self._unit_variants(j)
            return variants[j]

        todo = [j for j in range(len(p.jobs))
                if j not in in_route and j not in an.reasons and units_of(j)
                and p.jobs[j].id not in pinned_ids]
        todo.sort(key=lambda j: -drop_penalty(p.jobs[j], req))
        steppers = {v: self._stepper(v) for v in range(len(routes)) if v not in an.unusable}
        n_pinned = [sum(1 for u in r if any(i in self._pinned_idx for i in u)) for r in routes]

        def prefixes(v: int) -> list[_State | None]:
            step, start, _ = steppers[v]
            state: _State | None = start
            out = [state]
            for u in routes[v]:
                for i in u:
                    state = step(state, m.IndexToNode(i)) if state is not None else None
                out.append(state)
            return out

        cache: dict[int, list[_State | None]] = {}
        inserted = 0
        for j in todo:  # grows by what an ejection takes out
            if deadline is not None and time.monotonic() > deadline:
                break
            best: tuple[int, int, int, list[int]] | None = None
            for unit in units_of(j):
                need = self._depot_need(unit)
                if need is not None and any(a < b for a, b in zip(self._depot_left[need[0]], need[1], strict=True)):
                    continue
                first = self.nodes[m.IndexToNode(unit[-1])]
                ok_v = an.van_vehicles.get(j, []) if first.kind == "job" else an.depot_vehicles.get(j, [])
                for v in ok_v:
                    if v not in steppers:
                        continue
                    step, _, end_node = steppers[v]
                    if v not in cache:
                        cache[v] = prefixes(v)
                    pre = cache[v]
                    base = pre[-1]
                    base_end = step(base, end_node) if base is not None else None
                    if base_end is None:
                        continue
                    for pos in range(n_pinned[v], len(routes[v]) + 1):
                        state = pre[pos]
                        if state is None:
                            break
                        for i in unit:
                            state = step(state, m.IndexToNode(i)) if state is not None else None
                        for u in routes[v][pos:]:
                            for i in u:
                                state = step(state, m.IndexToNode(i)) if state is not None else None
                            if state is None:
                                break
                        end = step(state, end_node) if state is not None else None
                        if end is None:
                            continue
                        delta = end[5] - base_end[5]
                        if best is None or delta < best[0]:
                            best = (delta, v, pos, unit)
            if best is None and not p.jobs[j].optional:
                ejection = self._eject_for(j, routes, steppers, n_pinned, req)
                if ejection is not None:
                    cost, v, pos, unit, k = ejection
                    out = routes[v].pop(k)
                    self._give_back_depot_stock(out)
                    out_job = self.nodes[m.IndexToNode(out[-1])].job
                    if out_job is not None:
                        todo.append(out_job)
                    best = (cost, v, pos, unit)
            if best is None:
                continue
            _, v, pos, unit = best
            routes[v].insert(pos, unit)
            self._take_depot_stock(unit, False)
            cache.pop(v, None)
            inserted += 1
        for v in steppers:
            step, state, end_node = steppers[v]
            for u in routes[v]:
                for i in u:
                    state = step(state, m.IndexToNode(i)) if state is not None else None
            final = step(state, end_node) if state is not None else None
            self._quick_schedule[v] = final[6] if final is not None else None
        return inserted

    def _give_back_depot_stock(self, unit: list[int]) -> None:
        need = self._depot_need(unit)
        if need is not None:
            d, parts = need
            self._depot_left[d] = [a + b for a, b in zip(self._depot_left[d], parts, strict=True)]

    def _eject_for(self, j: int, routes: list[list[list[int]]], steppers: dict[int, tuple[_Step, _State, int]],
                   n_pinned: list[int],
                   req: int) -> tuple[int, int, int, list[int], int] | None:
        """Room for required job ``j`` on a full day: take out one visit worth less.

        Why: builders see a soft due time as a window end, so on a full day they fill
        the routes with optional or lower-priority visits and leave out a required one
        that can only be late; the plain insertion then finds no room (the 100/10 field
        day kept one required repair out).  One ejection per insertion, only of a visit
        whose drop penalty is lower than ``j``'s, so ejections cannot cycle.  Returns
        (cost, vehicle, position, unit, index taken out) or None.
        """
        p, m, an = self.problem, self.manager, self.an
        mine = drop_penalty(p.jobs[j], req)

        def end_of(v: int, units: list[list[int]]) -> _State | None:
            step, state, end_node = steppers[v]
            for u in units:
                for i in u:
                    nxt = step(state, m.IndexToNode(i))
                    if nxt is None:
                        return None
                    state = nxt
            return step(state, end_node)

        best: tuple[int, int, int, list[int], int] | None = None
        for unit in self._unit_variants(j):
            need = self._depot_need(unit)
            first = self.nodes[m.IndexToNode(unit[-1])]
            ok_v = an.van_vehicles.get(j, []) if first.kind == "job" else an.depot_vehicles.get(j, [])
            for v in ok_v:
                if v not in steppers:
                    continue
                for k in range(n_pinned[v], len(routes[v])):
                    out = routes[v][k]
                    out_job = self.nodes[m.IndexToNode(out[-1])].job
                    if out_job is None:
                        continue
                    worth = drop_penalty(p.jobs[out_job], req)
                    if worth >= mine or (best is not None and worth >= best[0]):
                        continue
                    if need is not None:
                        back = self._depot_need(out)
                        left = list(self._depot_left[need[0]])
                        if back is not None and back[0] == need[0]:
                            left = [a + b for a, b in zip(left, back[1], strict=True)]
                        if any(a < b for a, b in zip(left, need[1], strict=True)):
                            continue
                    rest = routes[v][:k] + routes[v][k + 1:]
                    for pos in range(max(n_pinned[v], k - 2), min(len(rest), k + 2) + 1):
                        end = end_of(v, rest[:pos] + [unit] + rest[pos:])
                        if end is not None:
                            cost = worth + end[5]
                            if best is None or cost < best[0]:
                                best = (cost, v, pos, unit, k)
        return best

    def _restore_scheduled(self, routes: list[list[list[int]]]) -> pywrapcp.Assignment | None:
        """Restore routes with the quick simulation's times and break starts, or None.

        Why: ``ReadAssignmentFromRoutes`` searches for every cumul and break start; on a
        1,000-visit day with lunch breaks one read took 25-30 s and then failed at its time
        limit.  Given the schedule, restoring is propagation only.
        """
        routing, m, tdim = self.routing, self.manager, self.tdim
        solver = routing.solver()
        a = solver.Assignment()
        nxt: dict[int, int] = {}
        for v, units in enumerate(routes):
            seq = [i for u in units for i in u]
            prev = routing.Start(v)
            for i in seq:
                nxt[prev] = i
                prev = i
            nxt[prev] = routing.End(v)
        for i in range(routing.Size()):
            a.Add(routing.NextVar(i))
            a.SetValue(routing.NextVar(i), nxt.get(i, i))
        for v in range(len(routes)):
            sched = self._quick_schedule.get(v)
            if sched is None:
                if routes[v]:
                    return None
                continue
            idx_of = {m.IndexToNode(i): i for u in routes[v] for i in u}
            idx_of[m.IndexToNode(routing.Start(v))] = routing.Start(v)
            idx_of[m.IndexToNode(routing.End(v))] = routing.End(v)
            for item in sched:
                if item[0] == "b":
                    for b, bs in item[1]:
                        iv = self.break_vars.get((v, b))
                        if iv is not None:
                            a.Add(iv)
                            a.SetStartValue(iv, bs)
                            a.SetDurationValue(iv, iv.DurationMin())
                            a.SetEndValue(iv, bs + iv.DurationMin())
                            a.SetPerformedValue(iv, 1)
                    continue
                n, t = item
                idx = idx_of.get(n)
                if idx is not None:
                    a.Add(tdim.CumulVar(idx))
                    a.SetValue(tdim.CumulVar(idx), t)
        return routing.RestoreAssignment(a)

    @cached_property
    def _pinned_idx(self) -> set[int]:
        return {i for j in self.model.pinned_job_indices() for i in self.model.node_indices(j)}

    @overload
    def _routes_to_indices(self, initial: dict[int, list[tuple[int, bool, int]]],
                           grouped: Literal[False] = False) -> list[list[int]]: ...

    @overload
    def _routes_to_indices(self, initial: dict[int, list[tuple[int, bool, int]]],
                           grouped: Literal[True]) -> list[list[list[int]]]: ...

    def _routes_to_indices(self, initial: dict[int, list[tuple[int, bool, int]]],
                           grouped: bool = False) -> list[list[int]] | list[list[list[int]]]:
        """Initial routes {vehicle id: [(job id, via depot, service start)]} as routing indices.

        ``grouped``: each route as a list of units (a visit, or a depot pickup with its visit).
        """
        m = self.manager

        def variant(nis: list[int], t: int) -> int:
            for n_i in nis:
                w = self.nodes[n_i].win
                if w is None or w[0] <= t <= w[1]:
                    return n_i
            return nis[0]

        by_id = {job.id: j for j, job in enumerate(self.problem.jobs)}
        out: list[list[list[int]]] = []
        seen: set[int] = set()
        for veh in self.problem.vehicles:
            seq: list[list[int]] = []
            for jid, via, t in initial.get(veh.id, []):
                j = by_id.get(jid)
                if j is None or j in seen:
                    continue
                if via and j in self.dep_node:
                    dn = variant(self.dep_node[j], t)
                    pn = self.pick_node[j][self.dep_node[j].index(dn)]
                    seq.append([m.NodeToIndex(pn), m.NodeToIndex(dn)])
                elif j in self.van_node:
                    seq.append([m.NodeToIndex(variant(self.van_node[j], t))])
                elif j in self.dep_node:
                    dn = variant(self.dep_node[j], t)
                    pn = self.pick_node[j][self.dep_node[j].index(dn)]
                    seq.append([m.NodeToIndex(pn), m.NodeToIndex(dn)])
                else:
                    continue
                seen.add(j)
            out.append(seq)
        return out if grouped else [[i for unit in seq for i in unit] for seq in out]
