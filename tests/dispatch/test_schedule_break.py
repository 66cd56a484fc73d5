"""Re-timing a hand-edited route must find a lunch-break placement that keeps every
window when one exists (the greedy 'break at the first chance' can lose a window)."""
from types import SimpleNamespace

from dispatch.planning.retiming import schedule_routes
from dispatch.solver.model import Break, Job, Problem, Vehicle
from dispatch.solver.validate import validate

H = 3600


def _problem(b_windows):
    durations = [[0, 600, 600], [600, 0, 600], [600, 600, 0]]
    tech = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 10 * H),
                   breaks=[Break(id=1, time_windows=[(3 * H, 5 * H)], service=45 * 60)])
    jobs = [Job(id=10, location_index=1, service=30 * 60, time_windows=[(0, 10 * H)]),
            Job(id=20, location_index=2, service=30 * 60, time_windows=b_windows)]
    return Problem(vehicles=[tech], jobs=jobs, durations=durations, distances=durations)


def test_break_moves_after_a_visit_whose_only_window_is_at_lunch_time():
    p = _problem([(3 * H, 3 * H + 30 * 60)])
    sol = schedule_routes(SimpleNamespace(problem=p), {1: [10, 20]})
    kinds = [s.type for s in sol.routes[0].steps]
    assert kinds == ["start", "job", "job", "break", "end"]
    assert validate(p, sol) == []


def test_greedy_placement_is_kept_when_it_is_already_feasible():
    p = _problem([(0, 10 * H)])
    sol = schedule_routes(SimpleNamespace(problem=p), {1: [10, 20]})
    assert validate(p, sol) == []
    brk = [s for s in sol.routes[0].steps if s.type == "break"][0]
    assert 3 * H <= brk.service_start <= 5 * H
