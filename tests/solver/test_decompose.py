"""Large days are solved by groups of technicians; the answer stays valid."""

from __future__ import annotations

from dispatch.solver import Depot, Job, Vehicle, decompose, solve, validate

from .conftest import make_problem


def test_large_day_is_split_into_groups_and_stays_valid(monkeypatch):
    monkeypatch.setattr(decompose, "LARGE_JOBS", 5)
    monkeypatch.setattr(decompose, "GROUP_VEHICLES", 2)
    vehicles = [Vehicle(id=v, start_index=0 if v < 2 else 19, end_index=0 if v < 2 else 19, time_window=(0, 4000),
                        capacity=[0]) for v in range(4)]
    jobs = [Job(id=100 + i, location_index=i, service=120, delivery=[1 if i % 5 == 0 else 0]) for i in range(1, 19)]
    p = make_problem(n_locations=20, vehicles=vehicles, jobs=jobs, depots=[Depot(id=1, location_index=10, stock=[2])])
    groups = decompose.group_vehicles(p, 2)
    assert sorted(map(sorted, groups)) == [[0, 1], [2, 3]]  # technicians grouped by start place
    sol = solve(p, 3.0, builder="ortools")  # OR-Tools alone splits large days
    assert sol.stats.status.startswith("decomposed")
    assert validate(p, sol) == []
    picked = sum(s.parts[0] for r in sol.routes for s in r.steps if s.type == "pickup")
    assert picked <= 2  # depot stock is shared between the groups
    assert sol.summary.assigned >= 12
    loc = {j.id: j.location_index for j in p.jobs}
    assert all(s.location_index == loc[s.id] for r in sol.routes for s in r.steps if s.type == "job")


def test_a_group_is_solved_on_its_own_locations():
    """A group's model sees only its technicians', jobs' and depots' places (a 5,000-job day
    handed every group the whole matrix and planned one visit), mapped back afterwards."""
    vehicles = [Vehicle(id=v, start_index=0 if v < 2 else 19, end_index=0 if v < 2 else 19, time_window=(0, 4000))
                for v in range(4)]
    jobs = [Job(id=100 + i, location_index=i, service=120) for i in range(1, 19)]
    p = make_problem(n_locations=20, vehicles=vehicles, jobs=jobs, depots=[Depot(id=1, location_index=10, stock=[2])])
    sub, locs = decompose._sub(p, decompose.Matrices(p), [2, 3], list(range(12, 18)), [[2]])
    assert locs == [10, 13, 14, 15, 16, 17, 18, 19]
    assert [[sub.durations[a][b] for b in range(len(locs))] for a in range(len(locs))] == \
        [[p.durations[x][y] for y in locs] for x in locs]
    assert [j.location_index for j in sub.jobs] == [1, 2, 3, 4, 5, 6]
    assert sub.vehicles[0].start_index == 7 and sub.depots[0].location_index == 0
    sol = solve(sub, 1.0, builder="ortools", solution_limit=20)
    routes = decompose._globalise(locs, sol.routes)
    assert {s.location_index for r in routes for s in r.steps if s.type == "job"} <= set(range(13, 19))
