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
