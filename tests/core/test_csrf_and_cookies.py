import pytest

from tests.builders.people import PASSWORD
from tests.builders.world import make_world


@pytest.fixture
def csrf_client(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False


def test_forms_without_csrf_token_are_refused(csrf_client, db):
    make_world(db)
    resp = csrf_client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert resp.status_code == 400


def test_api_with_session_cookie_needs_csrf_header(csrf_client, db):
    make_world(db)
    page = csrf_client.get("/login")
    token = page.data.split(b'name="csrf-token" content="')[1].split(b'"')[0].decode()
    ok = csrf_client.post("/login", data={"username": "agent", "password": PASSWORD,
                                          "csrf_token": token})
    assert ok.status_code == 302
    refused = csrf_client.post("/api/v1/auth/token/revoke")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"


def test_bearer_api_calls_need_no_csrf(csrf_client, db):
    make_world(db)
    resp = csrf_client.post("/api/v1/auth/token", json={"username": "agent", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    revoke = csrf_client.post("/api/v1/auth/token/revoke",
                              headers={"Authorization": f"Bearer {token}"})
    assert revoke.status_code == 200


def test_session_cookie_is_httponly_and_lax(client, db):
    make_world(db)
    resp = client.post("/login", data={"username": "agent", "password": PASSWORD})
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
