from datetime import timedelta

from core.models import ApiToken, LoginThrottle
from core.timeutil import utcnow
from core.users import THROTTLE_FREE_FAILURES
from tests.factories import bearer, login, make_world


def test_each_role_signs_in_and_lands_on_a_page(client, db):
    make_world(db)
    for username in ("admin", "dispatcher", "agent", "tech01"):
        c = client.application.test_client()
        resp = login(c, username)
        assert resp.status_code == 302, username
        home = c.get("/", follow_redirects=True)
        assert home.status_code == 200, username
        assert username.title().encode() in home.data or b"FixRoute" in home.data


def test_wrong_password_is_refused_without_a_session(client, db):
    make_world(db)
    resp = login(client, "agent", "wrong-password")
    assert resp.status_code == 401
    assert client.get("/").status_code == 302  # still redirected to the login page


def test_repeated_failures_are_slowed_down(client, db):
    make_world(db)
    for _ in range(THROTTLE_FREE_FAILURES):
        login(client, "agent", "nope-nope")
    resp = login(client, "agent")  # right password, but locked for a while
    assert resp.status_code == 429
    row = db.exec(LoginThrottle.__table__.select().where(LoginThrottle.key == "user:agent")).first()
    assert row.failures == THROTTLE_FREE_FAILURES


def test_throttle_lifts_after_the_wait(client, db):
    make_world(db)
    for _ in range(THROTTLE_FREE_FAILURES):
        login(client, "agent", "nope-nope")
    for row in db.query(LoginThrottle).all():
        row.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    assert login(client, "agent").status_code == 302


def test_api_without_credentials_is_401_json(client, db):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"]["status"] == 401 and body["error"]["code"] == "unauthorized"


def test_bearer_token_round_trip_and_revocation(client, db):
    make_world(db)
    headers = bearer(client, "tech01")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.get_json()["username"] == "tech01"
    stored = db.query(ApiToken).one()
    assert headers["Authorization"].split()[1] not in stored.token_hash  # only the hash is kept
    assert client.post("/api/v1/auth/token/revoke", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_expired_token_is_refused(client, db):
    make_world(db)
    headers = bearer(client, "agent")
    token = db.query(ApiToken).one()
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_request_names_the_missing_field(client, db):
    resp = client.post("/api/v1/auth/token", json={"username": "x"})
    assert resp.status_code == 422
    fields = [f["field"] for f in resp.get_json()["error"]["fields"]]
    assert fields == ["password"]


def test_token_request_with_a_non_object_body(client, db):
    resp = client.post("/api/v1/auth/token", data="[1,2]", content_type="application/json")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "body"


def test_logout_ends_the_session(client, db):
    make_world(db)
    login(client, "dispatcher")
    assert client.get("/api/v1/me").status_code == 200
    client.post("/logout")
    assert client.get("/api/v1/me").status_code == 401


def test_open_redirect_after_login_is_refused(client, db):
    make_world(db)
    resp = client.post("/login?next=//evil.example/x",
                       data={"username": "agent", "password": "correct-horse-9"})
    assert resp.status_code == 302
    assert "evil.example" not in resp.headers["Location"]


def test_bearer_requests_get_no_session_cookie_and_keep_working(client, db):
    make_world(db)
    headers = bearer(client, "tech01")
    first = client.get("/api/v1/me", headers=headers)
    assert first.status_code == 200
    # even a request that changes the session (language choice) mints no cookie
    lang = client.post("/lang/zh", headers=headers, data={"next": "/"})
    assert lang.status_code == 302
    assert "session=" not in lang.headers.get("Set-Cookie", "")
    # a client that keeps cookies (here: a language choice made before) and sends the
    # token stays signed in
    client.post("/lang/en", data={"next": "/"})
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
