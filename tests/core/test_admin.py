from sqlmodel import select

from core.models import AuditEvent, User
from tests.builders.people import login
from tests.builders.world import make_world


def test_admin_home_shows_counts_and_users(client, db):
    make_world(db)
    login(client, "admin")
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert b'data-testid="count-merchants">1<' in page.data
    assert b"tech02" in page.data


def test_admin_creates_a_technician_user(client, db):
    from dispatch.models import Technician

    w = make_world(db)
    tech = Technician(code="tech03", name="Zhao Min", region_id=w.region.id, depot_id=w.depot.id)
    db.add(tech)
    db.commit()
    login(client, "admin")
    resp = client.post("/admin/", data={"username": "tech03", "display_name": "Zhao Min",
                                         "role": "technician", "technician_code": "tech03",
                                         "password": "long-enough-1"})
    assert resp.status_code == 302
    db.expire_all()
    user = db.exec(select(User).where(User.username == "tech03")).one()
    assert user.technician_id == tech.id and user.role == "technician"
    again = client.post("/admin/", data={"username": "tech03b", "role": "technician",
                                          "technician_code": "tech03", "password": "long-enough-1"})
    assert again.status_code == 422 and b"already has an account" in again.data


def test_admin_form_errors_name_the_field_and_keep_nothing(client, db):
    make_world(db)
    login(client, "admin")
    before = len(db.exec(select(User)).all())
    resp = client.post("/admin/", data={"username": "x", "role": "technician",
                                         "technician_code": "nope", "password": "long-enough-1"})
    assert resp.status_code == 422
    assert b"No technician with this code." in resp.data
    resp = client.post("/admin/", data={"username": "agent", "role": "agent",
                                         "password": "long-enough-1"})
    assert resp.status_code == 422 and b"username already taken" in resp.data
    db.expire_all()
    assert len(db.exec(select(User)).all()) == before


def test_only_admins_reach_admin_pages(client, db):
    make_world(db)
    login(client, "dispatcher")
    assert client.get("/admin/").status_code == 403


def test_deactivation_is_audited_and_blocks_sign_in(client, db):
    w = make_world(db)
    login(client, "admin")
    agent = w.users["agent"]
    client.post(f"/admin/users/{agent.id}/active", data={"active": "0"})
    db.expire_all()
    assert db.get(User, agent.id).active is False
    assert db.exec(select(AuditEvent).where(AuditEvent.entity == "user",
                                            AuditEvent.action == "deactivated")).first()
    other = client.application.test_client()
    assert login(other, "agent").status_code == 401
