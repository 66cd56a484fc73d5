"""Users and signing in: one password for every test user, hashed cheaply."""
from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import Session
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from core.models import User

PASSWORD = "correct-horse-9"
# Hashing with a cheap method keeps tests fast; production uses werkzeug's default.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_user(session: Session, username: str, role: str, technician_id: int | None = None) -> User:
    """A user named and titled after `username`, flushed (the caller commits)."""
    user = User(username=username, display_name=username.title(), password_hash=_FAST_HASH,
                role=role, technician_id=technician_id)
    session.add(user)
    session.flush()
    return user


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the form: the client keeps the session cookie."""
    return client.post("/login", data={"username": username, "password": password})


def bearer(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a fresh API token for `username`."""
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}
