"""The dispatcher board page and its JSON API, with the solve in a real process."""
from __future__ import annotations

from sqlmodel import select

from dispatch.models import Plan, Visit
from dispatch.planning import jobs as plan_jobs
from tests.builders.people import login
from tests.builders.planning import make_planning_world
from tests.builders.world import DAY


def _draft(client, w):
    resp = client.post("/api/v1/plans", json={"region_id": w.region.id, "day": DAY.isoformat()})
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


def test_board_is_the_dispatchers_home_and_lists_the_day(app, client, db):
    w, orders = make_planning_world(db, 3)
    login(client, "dispatcher")
    home = client.get("/")
    assert home.status_code == 302 and "/board" in home.headers["Location"]
    page = client.get(f"/board?region_id={w.region.id}&day={DAY.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Li Wei" in html and "Chen Fang" in html
    assert all(o.number in html for o in orders)
    assert "vendor/leaflet/leaflet.js" in html


def test_board_refuses_other_roles(app, client, db):
    w, _ = make_planning_world(db, 1)
    login(client, "tech01")
    assert client.get("/board").status_code == 403
    assert client.post("/api/v1/plans", json={"region_id": w.region.id, "day": "2026-11-24"}).status_code == 403


def test_second_dispatcher_gets_the_first_draft(app, client, db):
    w, _ = make_planning_world(db, 1)
    login(client, "dispatcher")
    first = client.post("/api/v1/plans", json={"region_id": w.region.id, "day": DAY.isoformat()})
    other = app.test_client()
    login(other, "admin")
    second = other.post("/api/v1/plans", json={"region_id": w.region.id, "day": DAY.isoformat()})
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]


def test_bad_input_names_the_field(app, client, db):
    w, _ = make_planning_world(db, 1)
    login(client, "dispatcher")
    assert client.post("/api/v1/plans", json={"region_id": w.region.id, "day": "soon"}).status_code == 422
    plan = _draft(client, w)
    resp = client.post(f"/api/v1/plans/{plan['id']}/solve", json={"time_limit_s": 0})
    assert resp.status_code == 422 and resp.get_json()["error"]["fields"][0]["field"] == "time_limit_s"
    resp = client.post(f"/api/v1/plans/{plan['id']}/edits", json={"op": "teleport", "version": 1})
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/plans/{plan['id']}/edits", json={"op": "pin", "version": 1, "visit_id": 999})
    assert resp.status_code == 404
    assert client.get("/api/v1/plans/999999").status_code == 404


def test_solve_runs_in_a_process_then_edit_and_publish(app, client, db):
    w, orders = make_planning_world(db, 4)
    login(client, "dispatcher")
    plan = _draft(client, w)
    resp = client.post(f"/api/v1/plans/{plan['id']}/solve",
                       json={"version": plan["version"], "time_limit_s": 5, "solution_limit": 20})
    assert resp.status_code == 202 and resp.get_json()["job_status"] == "queued"
    # a second solve while one runs is refused
    again = client.post(f"/api/v1/plans/{plan['id']}/solve", json={"time_limit_s": 5})
    assert again.status_code == 409
    done = plan_jobs.wait_for_job(db, plan["id"], timeout_s=60)
    assert done.job_status == "done", done.progress
    got = client.get(f"/api/v1/plans/{plan['id']}").get_json()
    assert len(got["visits"]) == 4 and got["figures"]["visits"] == 4
    page = client.get(f"/board?region_id={w.region.id}&day={DAY.isoformat()}").get_data(as_text=True)
    assert page.count('data-testid="stop"') == 4
    visit = got["visits"][0]
    resp = client.post(f"/api/v1/plans/{plan['id']}/edits",
                       json={"op": "pin", "visit_id": visit["id"], "version": got["version"]})
    assert resp.status_code == 200 and resp.get_json()["applied"]
    stale = client.post(f"/api/v1/plans/{plan['id']}/publish", json={"version": got["version"]})
    assert stale.status_code == 409
    pub = client.post(f"/api/v1/plans/{plan['id']}/publish", json={"version": got["version"] + 1})
    assert pub.status_code == 200, pub.get_json()
    assert pub.get_json()["dispatched"] == 4
    db.rollback()
    db.expire_all()
    assert db.get(Plan, plan["id"]).status == "published"
    assert db.get(Visit, visit["id"]).pinned


def test_cancel_stops_the_job_and_discards_its_result(app, client, db):
    w, _ = make_planning_world(db, 8)
    login(client, "dispatcher")
    plan = _draft(client, w)
    client.post(f"/api/v1/plans/{plan['id']}/solve", json={"time_limit_s": 30})
    resp = client.post(f"/api/v1/plans/{plan['id']}/cancel")
    assert resp.status_code == 200 and resp.get_json()["job_status"] == "cancelled"
    db.rollback()
    db.expire_all()
    assert db.get(Plan, plan["id"]).job_status == "cancelled"
    assert db.exec(select(Visit).where(Visit.plan_id == plan["id"])).all() == []
    assert client.post(f"/api/v1/plans/{plan['id']}/cancel").status_code == 409


def test_run_plan_job_ignores_a_cancelled_job(app, db, db_url):
    w, _ = make_planning_world(db, 2)
    plan = Plan(region_id=w.region.id, day=DAY, job_id="abc", job_status="cancelled")
    db.add(plan)
    db.commit()
    assert plan_jobs.run_plan_job(db_url, plan.id, "abc", 1.0, 5) == "stale"
    assert db.exec(select(Visit).where(Visit.plan_id == plan.id)).all() == []


def test_run_plan_job_records_a_failed_solve_on_the_plan(app, db, db_url, monkeypatch):
    """A solve that raises must leave the plan 'failed' with the reason, not a crashed job."""
    from dispatch.planning import problem

    w, _ = make_planning_world(db, 2)
    plan = Plan(region_id=w.region.id, day=DAY, job_id="job-1", job_status="queued")
    db.add(plan)
    db.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("matrix service unreachable")

    monkeypatch.setattr(problem, "build_input", broken)
    assert plan_jobs.run_plan_job(db_url, plan.id, "job-1", 1.0, 5) == "failed"
    db.expire_all()
    stored = db.get(Plan, plan.id)
    assert stored.job_status == "failed"
    assert stored.progress["phase"] == "failed"
    assert "matrix service unreachable" in stored.progress["error"]
