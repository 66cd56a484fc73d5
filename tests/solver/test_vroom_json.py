"""The VROOM JSON face: parsing, errors naming the field, emitting VROOM's shape."""

from __future__ import annotations

import copy
import json

import pytest

from dispatch.solver import ProblemError, solve, validate
from dispatch.solver.vroom_json import (
    problem_from_json,
    problem_to_json,
    solution_from_json,
    solution_to_json,
)

# Shaped like the example of VROOM's API documentation, with a custom matrix.
VROOM_EXAMPLE = {
    "vehicles": [
        {"id": 1, "start_index": 0, "end_index": 0, "capacity": [4], "skills": [1, 14],
         "time_window": [28800, 43200], "breaks": [{"id": 1, "time_windows": [[32400, 34200]], "service": 300}]},
        {"id": 2, "start_index": 0, "end_index": 0, "capacity": [4], "skills": [2, 14], "time_window": [28800, 43200]},
    ],
    "jobs": [
        {"id": 1, "service": 300, "delivery": [1], "location_index": 1, "skills": [1],
         "time_windows": [[32400, 36000]]},
        {"id": 2, "service": 300, "delivery": [1], "location_index": 2, "skills": [1]},
        {"id": 3, "service": 300, "delivery": [1], "location_index": 3, "skills": [2]},
        {"id": 4, "service": 300, "delivery": [1], "location_index": 4, "skills": [14], "priority": 50},
        {"id": 5, "service": 300, "delivery": [1], "location_index": 5, "skills": [14]},
        {"id": 6, "service": 300, "delivery": [1], "location_index": 6, "skills": [14]},
    ],
    "matrices": {"car": {
        "durations": [[0, 600, 900, 700, 800, 1200, 500], [600, 0, 400, 900, 500, 700, 800],
                      [900, 400, 0, 600, 300, 500, 1000], [700, 900, 600, 0, 400, 900, 600],
                      [800, 500, 300, 400, 0, 500, 700], [1200, 700, 500, 900, 500, 0, 1100],
                      [500, 800, 1000, 600, 700, 1100, 0]],
        "distances": [[0, 6000, 9000, 7000, 8000, 12000, 5000], [6000, 0, 4000, 9000, 5000, 7000, 8000],
                      [9000, 4000, 0, 6000, 3000, 5000, 10000], [7000, 9000, 6000, 0, 4000, 9000, 6000],
                      [8000, 5000, 3000, 4000, 0, 5000, 7000], [12000, 7000, 5000, 9000, 5000, 0, 11000],
                      [5000, 8000, 10000, 6000, 7000, 11000, 0]],
    }},
}


def test_vroom_example_solves_into_vroom_shaped_answer():
    problem = problem_from_json(VROOM_EXAMPLE)
    sol = solve(problem, 2.0, solution_limit=50)
    out = solution_to_json(sol, problem)
    assert out["code"] == 0
    assert set(out["summary"]) >= {"cost", "routes", "unassigned", "service", "duration", "waiting_time",
                                   "priority", "delivery", "distance", "violations"}
    assert out["summary"]["unassigned"] == 0 and out["summary"]["priority"] == 50
    for r in out["routes"]:
        assert {"vehicle", "steps", "cost", "service", "duration", "waiting_time", "distance"} <= set(r)
        assert r["steps"][0]["type"] == "start" and r["steps"][-1]["type"] == "end"
        # VROOM: cumulated travel upon arrival
        assert r["steps"][-1]["duration"] == r["duration"] and r["steps"][-1]["distance"] == r["distance"]
        for s in r["steps"]:
            assert {"type", "arrival", "duration", "service", "waiting_time", "load", "distance"} <= set(s)
    v1 = next(r for r in out["routes"] if r["vehicle"] == 1)
    assert [s for s in v1["steps"] if s["type"] == "break"], "vehicle 1 has a lunch break"
    assert {s["id"] for s in v1["steps"] if s["type"] == "job"} >= {1, 2}  # skill 1 only on vehicle 1
    # the JSON answer reads back into the same figures and validates
    back = solution_from_json(json.loads(json.dumps(out)), problem)
    assert validate(problem, back) == []
    assert back.summary.duration == sol.summary.duration


def test_problem_round_trips_through_json():
    problem = problem_from_json(VROOM_EXAMPLE)
    again = problem_from_json(json.loads(json.dumps(problem_to_json(problem))))
    assert again == problem


def test_fixroute_extensions_are_read_and_stripped_for_vroom():
    data = copy.deepcopy(VROOM_EXAMPLE)
    data["jobs"][0].update({"x_fixroute_due": 33000, "x_fixroute_lateness_cost_per_minute": 5})
    data["jobs"][5]["x_fixroute_optional"] = True
    data["jobs"][1].update({"x_fixroute_preferred_vehicle": 2, "x_fixroute_vehicle_change_cost": 1800,
                            "x_fixroute_preferred_window": [3600, 7200],
                            "x_fixroute_window_change_cost_per_minute": 10})
    data["vehicles"][0].update({"x_fixroute_overtime_after": 40000, "costs": {"x_fixroute_overtime_per_hour": 60}})
    data["x_fixroute_depots"] = [{"id": 7, "location_index": 6, "stock": [10]}]
    p = problem_from_json(data)
    assert p.jobs[0].due == 33000 and p.jobs[0].lateness_cost_per_minute == 5 and p.jobs[5].optional
    assert p.vehicles[0].overtime_after == 40000 and p.vehicles[0].costs.overtime_per_hour == 60
    assert p.depots[0].id == 7 and p.depots[0].stock == [10]
    assert (p.jobs[1].preferred_vehicle, p.jobs[1].vehicle_change_cost) == (2, 1800)
    assert (p.jobs[1].preferred_window, p.jobs[1].window_change_cost_per_minute) == ((3600, 7200), 10)
    assert problem_from_json(json.loads(json.dumps(problem_to_json(p)))) == p
    plain = json.dumps(problem_to_json(p, extensions=False))
    assert "x_fixroute" not in plain
    assert "x_fixroute_due" in json.dumps(problem_to_json(p))


def test_legacy_top_level_matrix_is_accepted():
    data = copy.deepcopy(VROOM_EXAMPLE)
    data["matrix"] = data.pop("matrices")["car"]["durations"]
    p = problem_from_json(data)
    assert p.durations[0][1] == 600 and p.distances is None


def test_coordinates_without_matrix_use_the_straight_line_provider():
    data = {"vehicles": [{"id": 1, "start": [2.35, 48.85], "end": [2.35, 48.85]}],
            "jobs": [{"id": 1, "location": [2.30, 48.87]}, {"id": 2, "location": [2.40, 48.83]}]}
    p = problem_from_json(data)
    assert len(p.durations) == 3 and p.durations[0][1] > 0 and p.distances[0][1] > 3000
    sol = solve(p, 1.0, solution_limit=10)
    out = solution_to_json(sol, p)
    assert out["routes"][0]["steps"][1]["location"] in ([2.30, 48.87], [2.40, 48.83])


def test_unassigned_entries_carry_reason_text_and_code():
    data = copy.deepcopy(VROOM_EXAMPLE)
    data["jobs"][0]["skills"] = [99]
    p = problem_from_json(data)
    out = solution_to_json(solve(p, 1.0, solution_limit=20), p)
    u = next(u for u in out["unassigned"] if u["id"] == 1)
    assert u["x_fixroute_reason"] == "no_skill" and "skill" in u["reason"] and u["type"] == "job"


def _broken(path, value):
    data = copy.deepcopy(VROOM_EXAMPLE)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize("path,value,field", [
    (("jobs", 3, "service"), -5, "jobs[3].service"),
    (("jobs", 0, "time_windows"), [[36000, 32400]], "jobs[0].time_windows[0]"),
    (("jobs", 2, "skills"), ["1"], "jobs[2].skills[0]"),
    (("jobs", 2, "skills"), [1.5], "jobs[2].skills[0]"),
    (("jobs", 1, "location_index"), 99, "jobs[1].location_index"),
    (("jobs", 4, "id"), 1, "jobs[4].id"),
    (("jobs", 0, "priority"), 101, "jobs[0].priority"),
    (("jobs", 0, "delivery"), [-1], "jobs[0].delivery[0]"),
    (("vehicles", 1, "time_window"), [43200, 28800], "vehicles[1].time_window[0]"),
    (("vehicles", 0, "breaks", 0, "service"), -1, "vehicles[0].breaks[0].service"),
    (("vehicles", 0, "steps"), [{"type": "job", "id": 42}], "vehicles[0].steps[0].id"),
    (("matrices", "car", "durations"), [[0, 1], [1, 0]], "matrices.durations"),
    (("matrices", "car", "distances"), [[0] * 7] * 6, "matrices.distances"),
    (("vehicles",), [], "vehicles"),
    (("shipments",), [{"pickup": {}, "delivery": {}}], "shipments"),
])
def test_bad_input_names_the_field(path, value, field):
    with pytest.raises(ProblemError) as exc:
        problem_from_json(_broken(path, value))
    assert exc.value.field == field, exc.value
    assert exc.value.reason


def test_skill_nobody_has_is_not_an_error():
    data = _broken(("jobs", 0, "skills"), [12345])
    assert problem_from_json(data).jobs[0].skills == [12345]
