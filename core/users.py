"""User accounts, password hashing, API tokens and sign-in throttling."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.api import APIError, ValidationFailed
from core.audit import record_audit
from core.models import ApiToken, LoginThrottle, Role, User
from core.timeutil import as_utc, utcnow

# After this many failures in a row a key must wait, doubling each time, up to the cap.
THROTTLE_FREE_FAILURES = 5
THROTTLE_MAX_SECONDS = 15 * 60


class TooManyAttempts(APIError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(_l("too many failed sign-ins; try again in %(s)s s", s=retry_after),
                         field="password")
        self.retry_after = retry_after


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    technician_id: int | None = None,
    region_id: int | None = None,
    is_demo: bool = False,
    actor_user_id: int | None = None,
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise ValidationFailed(_l("must be 1 to 64 characters"), field="username")
    if role not in {r.value for r in Role}:
        raise ValidationFailed(_l("must be one of %(choices)s",
                                  choices=", ".join(r.value for r in Role)), field="role")
    if len(password or "") < 8:
        raise ValidationFailed(_l("must be at least 8 characters"), field="password")
    if role == Role.TECHNICIAN and technician_id is None:
        raise ValidationFailed(_l("a technician account needs a technician"), field="technician_id")
    if technician_id is not None and session.exec(
        select(User).where(User.technician_id == technician_id)
    ).first():
        raise APIError(_l("this technician already has an account"), status=409, code="conflict",
                       field="technician_id")
    if session.exec(select(User).where(User.username == username)).first():
        raise APIError(_l("username already taken"), status=409, code="conflict", field="username")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        technician_id=technician_id,
        region_id=region_id,
        is_demo=is_demo,
    )
    session.add(user)
    session.flush()
    record_audit(session, "user", user.id, "created", actor_user_id, role=role)
    return user


def _throttle_row(session: Session, key: str) -> LoginThrottle:
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    if row is None:
        row = LoginThrottle(key=key)
        session.add(row)
    return row


def check_throttle(session: Session, keys: list[str], now: datetime | None = None) -> None:
    now = now or utcnow()
    for key in keys:
        row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
        if row and row.locked_until and as_utc(row.locked_until) > now:
            raise TooManyAttempts(int((as_utc(row.locked_until) - now).total_seconds()) + 1)


def authenticate(
    session: Session, username: str, password: str, client: str, now: datetime | None = None
) -> User:
    """Check a password; count failures per username and per client address so that
    guessing is slowed down without letting one attacker lock every account for long."""
    now = now or utcnow()
    keys = [f"user:{(username or '').lower()}", f"ip:{client}"]
    check_throttle(session, keys, now)
    user = session.exec(select(User).where(User.username == (username or "").strip())).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        for key in keys:
            row = _throttle_row(session, key)
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= THROTTLE_FREE_FAILURES:
                wait = min(2 ** (row.failures - THROTTLE_FREE_FAILURES), THROTTLE_MAX_SECONDS)
                row.locked_until = now + timedelta(seconds=wait)
        session.commit()
        raise APIError(_l("unknown username or wrong password"), status=401, code="unauthorized",
                       field="password")
    for key in keys:
        row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
        if row:
            session.delete(row)
    session.commit()
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl_hours: int, name: str = "") -> tuple[str, ApiToken]:
    token = "frt_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_token(token),
        name=name,
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    session.add(row)
    session.flush()
    record_audit(session, "api_token", row.id, "issued", user.id)
    session.commit()
    return token, row


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user


def revoke_token(session: Session, token: str, actor_user_id: int | None) -> bool:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    record_audit(session, "api_token", row.id, "revoked", actor_user_id)
    session.commit()
    return True
