"""User accounts, password hashing, API tokens and sign-in throttling."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.audit import record_audit
from core.db import rowcount, table_of, unit_of_work
from core.errors import AuthenticationFailed, Conflict, Expired, InvalidInput, NotFound, TooManyAttempts
from core.models import ApiToken, LoginThrottle, Role, User
from core.timeutil import as_utc, utcnow

# After this many failures in a row a name must wait, doubling each time, up to the cap.
THROTTLE_FREE_FAILURES = 5
# An address (an office behind one NAT address, say) gets more room before it waits.
THROTTLE_FREE_FAILURES_PER_ADDRESS = 20
THROTTLE_MAX_SECONDS = 15 * 60
# A counter with no failure for this long starts again from zero: an address's counter
# is never cleared by a success, so without this an office's typos would add up forever.
THROTTLE_FORGET_AFTER = timedelta(hours=1)


def _too_many_attempts(retry_after: int) -> TooManyAttempts:
    return TooManyAttempts(_l("too many failed sign-ins; try again in %(s)s s", s=retry_after),
                           retry_after=retry_after, field="password")


def normalise_username(username: str | None) -> str:
    """The name as stored and looked up: surrounding whitespace (Unicode too) dropped.
    The sign-in throttle keys on this same form, so `"tech20 "` is `tech20`."""
    return (username or "").strip()


def _throttle_name_key(username: str | None) -> str:
    return f"user:{normalise_username(username).lower()}"


def _address_key(client: str) -> str:
    return f"ip:{client}"


_dummy_hash: str | None = None


def _dummy_password_hash() -> str:
    """A hash of a random password made with create_user's method and cost, checked
    for unknown names and disabled users so that their answer takes as long as a
    real user's wrong password (no usernames by timing)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(24))
    return _dummy_hash


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
    commit: bool = True,
) -> User:
    """A new account, audited; its own unit of work (commit=False: part of the caller's)."""
    username = normalise_username(username)
    if not username or len(username) > 64:
        raise InvalidInput(_l("must be 1 to 64 characters"), field="username")
    if role not in {r.value for r in Role}:
        raise InvalidInput(_l("must be one of %(choices)s",
                              choices=", ".join(r.value for r in Role)), field="role")
    if len(password or "") < 8:
        raise InvalidInput(_l("must be at least 8 characters"), field="password")
    if role == Role.TECHNICIAN and technician_id is None:
        raise InvalidInput(_l("a technician account needs a technician"), field="technician_id")
    password_hash = generate_password_hash(password)  # slow on purpose: not under the lock
    with unit_of_work(session, commit):
        if technician_id is not None and session.exec(
            select(User).where(User.technician_id == technician_id)
        ).first():
            raise Conflict(_l("this technician already has an account"), field="technician_id")
        if session.exec(select(User).where(User.username == username)).first():
            raise Conflict(_l("username already taken"), field="username")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            role=role,
            technician_id=technician_id,
            region_id=region_id,
            is_demo=is_demo,
        )
        session.add(user)
        session.flush()
        record_audit(session, "user", user.id, "created", actor_user_id, role=role)
    return user


_THROTTLE = table_of(LoginThrottle)
_CLAIM_TRIES = 20


def _wait_seconds(failures: int, free_failures: int) -> int:
    return min(2 ** (failures - free_failures), THROTTLE_MAX_SECONDS)


def _claim_attempt(session: Session, key: str, free_failures: int, now: datetime) -> None:
    """Count one sign-in attempt against `key` before its password is checked, or
    raise TooManyAttempts while the key waits.

    Counting first, with a compare-and-set on the counter, is what keeps a burst of
    parallel guesses from all passing the check before any failure is written: each
    attempt gets its own number, and the one that reaches the limit sets the wait
    for the ones behind it. A success gives its count back (see authenticate)."""
    for _ in range(_CLAIM_TRIES):
        row = session.execute(
            sa.select(_THROTTLE.c.failures, _THROTTLE.c.last_failure_at, _THROTTLE.c.locked_until)
            .where(_THROTTLE.c.key == key)
        ).first()
        if row is None:
            try:
                with session.begin_nested():
                    session.execute(sa.insert(_THROTTLE).values(key=key, failures=0))
            except IntegrityError:
                pass  # another attempt made the row first: claim on it
            continue
        if row.locked_until and as_utc(row.locked_until) > now:
            raise _too_many_attempts(int((as_utc(row.locked_until) - now).total_seconds()) + 1)
        stale = row.last_failure_at and as_utc(row.last_failure_at) < now - THROTTLE_FORGET_AFTER
        failures = 1 if stale else row.failures + 1
        locked_until = (now + timedelta(seconds=_wait_seconds(failures, free_failures))
                        if failures >= free_failures else None)
        claimed = rowcount(session.execute(
            sa.update(_THROTTLE)
            .where(_THROTTLE.c.key == key, _THROTTLE.c.failures == row.failures)
            .values(failures=failures, last_failure_at=now, locked_until=locked_until)
        ))
        if claimed == 1:
            return
    raise _too_many_attempts(1)  # this many attempts at once on one key: a burst, slow it down


def _give_back(session: Session, key: str, free_failures: int) -> None:
    """A successful attempt's count on the address: it was no failure."""
    session.execute(sa.update(_THROTTLE).where(_THROTTLE.c.key == key, _THROTTLE.c.failures > 0)
                    .values(failures=_THROTTLE.c.failures - 1))
    session.execute(sa.update(_THROTTLE)
                    .where(_THROTTLE.c.key == key, _THROTTLE.c.failures < free_failures)
                    .values(locked_until=None))


def authenticate(
    session: Session, username: str, password: str, client: str, now: datetime | None = None
) -> User:
    """Check a password; count failures per username and per client address so that
    guessing is slowed down without letting one attacker lock every account for long.

    The two counters are independent: the name's key uses the same normalised name as
    the lookup (so trailing spaces or another case reach the same counter), and a
    success clears only that name's counter — signing in to one's own account from
    an address does not wipe the address's record of guesses at other accounts.
    Each attempt is counted before its password is checked and committed at once, so
    parallel guesses cannot pass together, and no lock is held while hashing.
    Unknown names and disabled users cost one password hash check too (a dummy hash),
    so the answer's timing does not tell which names exist."""
    now = now or utcnow()
    name = normalise_username(username)
    name_key, address_key = _throttle_name_key(name), _address_key(client)
    user = session.exec(select(User).where(User.username == name)).first()
    with unit_of_work(session):  # refused (TooManyAttempts): neither key counts the attempt
        _claim_attempt(session, name_key, THROTTLE_FREE_FAILURES, now)
        _claim_attempt(session, address_key, THROTTLE_FREE_FAILURES_PER_ADDRESS, now)
    usable = user is not None and user.active
    stored_hash = user.password_hash if user is not None and usable else _dummy_password_hash()
    password_ok = check_password_hash(stored_hash, password or "")
    if user is None or not (usable and password_ok):
        raise AuthenticationFailed(_l("unknown username or wrong password"), field="password")
    with unit_of_work(session):
        session.execute(sa.delete(_THROTTLE).where(_THROTTLE.c.key == name_key))
        _give_back(session, address_key, THROTTLE_FREE_FAILURES_PER_ADDRESS)
    return user


def end_browser_sessions(session: Session, user: User) -> None:
    """Every session cookie made for this user before now stops loading the user
    (the cookie carries the version it was made under, see core.auth)."""
    with unit_of_work(session):
        user.session_version = (user.session_version or 0) + 1
        session.add(user)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl_hours: int, name: str = "") -> tuple[str, ApiToken]:
    if user.id is None:
        raise ValueError("a token is issued to a saved user")
    token = "frt_" + secrets.token_urlsafe(32)
    with unit_of_work(session):
        row = ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            name=name,
            expires_at=utcnow() + timedelta(hours=ttl_hours),
        )
        session.add(row)
        session.flush()
        record_audit(session, "api_token", row.id, "issued", user.id)
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
    with unit_of_work(session):
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        record_audit(session, "api_token", row.id, "revoked", actor_user_id)
    return True


# ---------------------------------------------------------------------------------
# an admin changes an account

RESET_LINK_MAX_AGE = 24 * 3600
_RESET_SALT = "fixroute.password-reset"


def update_user(session: Session, user: User, *, display_name: str, role: str,
                technician_id: int | None, actor_user_id: int | None, commit: bool = True) -> User:
    """Name, role and technician of an account, audited, as one unit of work
    (commit=False: part of the caller's). A role change ends the user's browser
    sessions: what they may see changed under them."""
    if role not in {r.value for r in Role}:
        raise InvalidInput(_l("must be one of %(choices)s",
                              choices=", ".join(r.value for r in Role)), field="role")
    if len(display_name or "") > 120:
        raise InvalidInput(_l("must be at most %(n)s characters", n=120), field="display_name")
    if role == Role.TECHNICIAN and technician_id is None:
        raise InvalidInput(_l("a technician account needs a technician"), field="technician_id")
    if role != Role.TECHNICIAN:
        technician_id = None
    with unit_of_work(session, commit):
        if technician_id is not None and session.exec(
            select(User).where(User.technician_id == technician_id, User.id != user.id)
        ).first():
            raise Conflict(_l("this technician already has an account"), field="technician_id")
        before = {"display_name": user.display_name, "role": user.role,
                  "technician_id": user.technician_id}
        user.display_name = (display_name or "").strip() or user.username
        role_changed = user.role != role
        user.role = role
        user.technician_id = technician_id
        if role_changed:
            user.session_version = (user.session_version or 0) + 1
        session.add(user)
        after = {"display_name": user.display_name, "role": user.role,
                 "technician_id": user.technician_id}
        record_audit(session, "user", user.id, "updated", actor_user_id,
                     changed={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return user


def set_active(session: Session, user_id: int, active: bool, *, actor_user_id: int | None) -> User:
    """Let an account sign in again, or stop it, audited; nobody stops their own."""
    with unit_of_work(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("No such user."), field="user_id")
        if user.id == actor_user_id:
            raise Conflict(_l("You cannot deactivate yourself."), field="user_id")
        user.active = active
        record_audit(session, "user", user.id, "activated" if user.active else "deactivated",
                     actor_user_id)
    return user


def set_locale(session: Session, user: User, locale: str) -> None:
    """The language a user chose, kept for their next sign-in and their messages."""
    with unit_of_work(session):
        user.locale = locale
        session.add(user)


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def password_reset_token(user: User, secret_key: str) -> str:
    """A link for the user to choose a new password, valid once: it names the current
    password's fingerprint, so it stops working as soon as the password changes."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).dumps(
        {"u": user.id, "p": _password_fingerprint(user)})


def issue_password_reset(session: Session, user: User, secret_key: str, *,
                         actor_user_id: int | None) -> str:
    """An admin makes a reset link for a user (password_reset_token), audited."""
    token = password_reset_token(user, secret_key)
    with unit_of_work(session):
        record_audit(session, "user", user.id, "password_reset_link", actor_user_id)
    return token


def user_for_reset_token(session: Session, token: str, secret_key: str,
                         max_age: int = RESET_LINK_MAX_AGE) -> User:
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

    try:
        data = URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise Expired(_l("this link has expired; ask an administrator for a new one"),
                      field="token") from exc
    except BadSignature as exc:
        raise NotFound(_l("this link is not valid"), field="token") from exc
    user = session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("p") != _password_fingerprint(user):
        raise Expired(_l("this link was already used or replaced"), field="token")
    return user


def set_password(session: Session, user: User, password: str, *,
                 actor_user_id: int | None, commit: bool = True) -> None:
    """A new password ends every browser session and API token of the user; audited,
    one unit of work (commit=False: part of the caller's)."""
    if len(password or "") < 8:
        raise InvalidInput(_l("must be at least 8 characters"), field="password")
    if len(password) > 256:
        raise InvalidInput(_l("must be at most %(n)s characters", n=256), field="password")
    password_hash = generate_password_hash(password)  # slow on purpose: not under the lock
    with unit_of_work(session, commit):
        user.password_hash = password_hash
        user.session_version = (user.session_version or 0) + 1
        session.add(user)
        tokens = table_of(ApiToken)
        session.execute(sa.update(tokens)
                        .where(tokens.c.user_id == user.id, tokens.c.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
        record_audit(session, "user", user.id, "password_set", actor_user_id)
