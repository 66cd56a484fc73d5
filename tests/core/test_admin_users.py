"""Users: an admin edits an account, resets a password by a one-time link, and sees
form errors at the top of the form as well as at each field."""
from __future__ import annotations

import re

from sqlmodel import select

from core.models import ApiToken, AuditEvent, User
from tests.builders.people import PASSWORD, bearer, login
from tests.builders.world import make_world


def _reset_link(client, user_id: int) -> str:
    page = client.post(f"/admin/users/{user_id}/reset-password").get_data(as_text=True)
    link = re.search(r'value="(http[^"]+/reset/[^"]+)" data-testid="reset-link"', page)
    assert link, page
    return link.group(1).split("://", 1)[1].split("/", 1)[1]


def test_admin_edits_name_and_role_and_the_change_is_audited(client, db):
    w = make_world(db)
    agent = w.users["agent"]
    login(client, "admin")
    page = client.get(f"/admin/users/{agent.id}")
    assert page.status_code == 200 and b"Reset password" in page.data
    r = client.post(f"/admin/users/{agent.id}", data={"display_name": "Wang Li", "role": "dispatcher",
                                                     "technician_code": ""})
    assert r.status_code == 302
    db.expire_all()
    u = db.get(User, agent.id)
    assert (u.display_name, u.role) == ("Wang Li", "dispatcher")
    ev = db.exec(select(AuditEvent).where(AuditEvent.entity == "user",
                                          AuditEvent.action == "updated")).one()
    assert ev.data["changed"]["role"] == ["agent", "dispatcher"]


def test_edit_errors_show_at_the_top_and_at_the_field_and_keep_nothing(client, db):
    w = make_world(db)
    agent = w.users["agent"]
    login(client, "admin")
    r = client.post(f"/admin/users/{agent.id}", data={"display_name": "X", "role": "technician",
                                                     "technician_code": "nobody"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    top = page.index('data-testid="form-errors"')
    assert "No technician with this code." in page[top:top + 600]
    assert page.count("No technician with this code.") == 2  # summary and field
    db.expire_all()
    assert db.get(User, agent.id).role == "agent"
    # the new-user form has the summary too
    r = client.post("/admin/", data={"username": "", "role": "agent", "password": "short"})
    assert r.status_code == 422 and 'data-testid="form-errors"' in r.get_data(as_text=True)


def test_a_reset_link_sets_a_new_password_once_and_ends_old_sessions(app, client, db):
    w = make_world(db)
    agent = w.users["agent"]
    api = app.test_client()
    headers = bearer(api, "agent")
    login(client, "admin")
    path = _reset_link(client, agent.id)
    client.post("/logout")

    anon = app.test_client()
    assert anon.get(f"/{path}").status_code == 200  # no account needed
    r = anon.post(f"/{path}", data={"password": "new-secret-9", "confirm": "other-secret-9"})
    assert r.status_code == 422 and b"differ" in r.data
    r = anon.post(f"/{path}", data={"password": "new-secret-9", "confirm": "new-secret-9"})
    assert r.status_code == 302
    assert anon.post(f"/{path}", data={"password": "third-secret-9",
                                       "confirm": "third-secret-9"}).status_code == 410  # once
    assert api.get("/api/v1/me", headers=headers).status_code == 401  # tokens revoked
    assert login(anon, "agent", PASSWORD).status_code == 401
    assert login(anon, "agent", "new-secret-9").status_code == 302
    db.expire_all()
    assert db.exec(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all() == []
    actions = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.entity == "user"))]
    assert "password_reset_link" in actions and "password_set" in actions


def test_a_tampered_reset_link_is_refused(app, db):
    make_world(db)
    anon = app.test_client()
    r = anon.get("/reset/eyJ1IjoxLCJwIjoiYWJjIn0.tampered.signature")
    assert r.status_code == 404 and b'data-testid="reset-error"' in r.data
