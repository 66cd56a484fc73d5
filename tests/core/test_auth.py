import contextlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from werkzeug.security import generate_password_hash

from core import users as users_module
from core.models import ApiToken, LoginThrottle, User
from core.timeutil import utcnow
from core.users import THROTTLE_FREE_FAILURES
from tests.builders.people import PASSWORD, bearer, login
from tests.builders.world import make_world


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


# --- issue 16: redirects, throttling, sessions, user enumeration -----------------------

HOSTILE_NEXT = [
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\r\n/evil.example/phish",
    " //evil.example/phish",
    "\x01//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "\\/evil.example/phish",
    "//evil.example/phish",
    "https://evil.example/phish",
    "https:/evil.example/phish",
    "javascript:alert(1)",
    "/\x00/evil.example",
]


def _assert_same_site(location: str) -> None:
    """What a browser would make of the Location header: no other host."""
    as_browser = location.strip("".join(chr(c) for c in range(0x21)))
    as_browser = as_browser.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    parts = urlsplit(as_browser)
    assert parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert "evil.example" not in location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_next_cannot_leave_the_site(client, db, target):
    make_world(db)
    resp = client.post("/login", query_string={"next": target},
                       data={"username": "agent", "password": "correct-horse-9"})
    assert resp.status_code == 302
    _assert_same_site(resp.headers["Location"])


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_next_cannot_leave_the_site(client, db, target):
    resp = client.post("/lang/en", query_string={"next": target}, data={"next": target})
    assert resp.status_code == 302
    _assert_same_site(resp.headers["Location"])


def test_language_switch_ignores_another_sites_referrer(client, db):
    for referrer in ("http://evil.example/phish", "http://localhost//evil.example/phish",
                     "http://localhost/\\evil.example"):
        resp = client.post("/lang/en", headers={"Referer": referrer})
        assert resp.status_code == 302
        _assert_same_site(resp.headers["Location"])
    resp = client.post("/lang/en", headers={"Referer": "http://localhost/board?day=2026-01-02"})
    assert resp.headers["Location"] == "/board?day=2026-01-02"


def test_same_site_next_is_still_followed(client, db):
    make_world(db)
    resp = client.post("/login", query_string={"next": "/board?day=2026-01-02"},
                       data={"username": "agent", "password": "correct-horse-9"})
    assert resp.headers["Location"] == "/board?day=2026-01-02"
    resp = client.post("/lang/zh", data={"next": "/tech/?x=1"})
    assert resp.headers["Location"] == "/tech/?x=1"


def _form_sign_in(client, username, password, addr):
    return client.post("/login", data={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": addr}).status_code


def _api_sign_in(client, username, password, addr):
    status = client.post("/api/v1/auth/token", json={"username": username, "password": password},
                         environ_overrides={"REMOTE_ADDR": addr}).status_code
    return 302 if status == 201 else status


SIGN_INS = pytest.mark.parametrize("sign_in", [_form_sign_in, _api_sign_in], ids=["form", "api"])


@SIGN_INS
def test_a_locked_name_stays_locked_with_spaces_or_another_case(client, db, sign_in):
    make_world(db)
    for i in range(THROTTLE_FREE_FAILURES):
        assert sign_in(client, "tech02", "wrong-guess", f"10.0.0.{i}") == 401
    for variant in ("tech02 ", " tech02", "tech02\t", "TECH02", "tech02\u00a0"):
        assert sign_in(client, variant, PASSWORD, "10.9.9.9") == 429, repr(variant)
    assert sign_in(client, "tech02", PASSWORD, "10.9.9.9") == 429


@SIGN_INS
def test_signing_in_to_ones_own_account_does_not_clear_the_address_counter(client, db, sign_in,
                                                                          monkeypatch):
    make_world(db)
    # unknown names are checked against the dummy hash: a cheap one keeps this test fast
    monkeypatch.setattr(users_module, "_dummy_hash",
                        generate_password_hash("x", method="pbkdf2:sha256:1000"))
    limit = users_module.THROTTLE_FREE_FAILURES_PER_ADDRESS
    addr = "10.1.1.1"
    statuses = []
    for i in range(limit + 5):
        # one guess at a different name each time (no name reaches its own limit),
        # and a sign-in to the attacker's own account in between
        statuses.append(sign_in(client, f"victim{i}", "wrong-guess", addr))
        if i % 3 == 2:
            statuses.append(sign_in(client, "tech01", PASSWORD, addr))
    assert 429 in statuses
    assert sign_in(client, "victim-new", "wrong-guess", addr) == 429
    # the address counter holds another address back in nothing
    assert sign_in(client, "agent", PASSWORD, "10.2.2.2") == 302


@SIGN_INS
def test_a_success_clears_only_that_names_counter(client, db, sign_in):
    make_world(db)
    addr = "10.3.3.3"
    for _ in range(3):
        assert sign_in(client, "agent", "wrong-guess", addr) == 401
    assert sign_in(client, "tech01", PASSWORD, addr) == 302
    db.rollback()
    rows = {r.key: r.failures for r in db.query(LoginThrottle).all()}
    assert rows["user:agent"] == 3
    assert rows[f"ip:{addr}"] == 3
    assert sign_in(client, "agent", PASSWORD, addr) == 302
    db.rollback()  # a fresh snapshot: the app wrote from another connection
    db.expire_all()
    rows = {r.key: r.failures for r in db.query(LoginThrottle).all()}
    assert "user:agent" not in rows
    assert rows[f"ip:{addr}"] == 3


def test_a_session_cookie_kept_from_before_logout_is_refused(client, db):
    make_world(db)
    login(client, "dispatcher")
    assert client.get("/api/v1/me").status_code == 200
    kept = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", kept)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302
    # signing in again gives a working session
    login(client, "dispatcher")
    assert client.get("/api/v1/me").status_code == 200


def test_logout_keeps_bearer_tokens_working(client, db):
    make_world(db)
    headers = bearer(client, "tech01")
    c = client.application.test_client()
    login(c, "tech01")
    c.post("/logout")
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_deactivated_users_session_ends(client, db):
    make_world(db)
    login(client, "agent")
    user = db.query(User).filter(User.username == "agent").one()
    user.active = False
    db.commit()
    assert client.get("/api/v1/me").status_code == 401


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts password hash checks: an unknown name must cost one too."""
    calls = []
    real = users_module.check_password_hash

    def spy(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(users_module, "check_password_hash", spy)
    return calls


@SIGN_INS
def test_an_unknown_name_costs_a_password_hash_check(client, db, hash_checks, sign_in):
    make_world(db)
    assert sign_in(client, "nobody-here", "wrong-guess", "10.4.4.4") == 401
    assert len(hash_checks) == 1
    # the dummy hash is as slow as a real one: the same method as create_user's hashes
    assert hash_checks[0].split("$")[0] == generate_password_hash("x").split("$")[0]


@SIGN_INS
def test_a_disabled_user_costs_a_password_hash_check(client, db, hash_checks, sign_in):
    make_world(db)
    user = db.query(User).filter(User.username == "agent").one()
    user.active = False
    db.commit()
    assert sign_in(client, "agent", PASSWORD, "10.5.5.5") == 401
    assert len(hash_checks) == 1


def test_concurrent_guesses_at_one_name_get_only_the_free_attempts(app, db, monkeypatch):
    """Twenty guesses at once at one name, each from another address: the throttle's
    counter is claimed before the password is checked, so only the free attempts are
    checked and the rest are refused — a burst does not slip past the counter."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    make_world(db)
    db.commit()
    fixed_now = utcnow()
    monkeypatch.setattr(users_module, "utcnow", lambda: fixed_now)  # no lock expires meanwhile
    real = users_module.check_password_hash
    started = threading.Barrier(THROTTLE_FREE_FAILURES, timeout=5)

    def slow_check(pwhash, password):
        # the first attempts wait for each other inside the hash check, so every one of
        # them is in flight at once (a barrier, not a sleep: no timing in the assert)
        with contextlib.suppress(threading.BrokenBarrierError):
            started.wait()
        return real(pwhash, password)

    monkeypatch.setattr(users_module, "check_password_hash", slow_check)

    def guess(i: int) -> int:
        c = app.test_client()
        return c.post("/api/v1/auth/token", json={"username": "agent", "password": "wrong-guess"},
                      environ_overrides={"REMOTE_ADDR": f"10.8.0.{i}"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(401) == THROTTLE_FREE_FAILURES, statuses
    assert statuses.count(429) == 20 - THROTTLE_FREE_FAILURES, statuses
