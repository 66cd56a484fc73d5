"""Settings come from the environment (and a `.env` in development) so that no secret
is ever committed and the same code runs on one machine or many."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: the zone of times that belong to no region (DEFAULT_TIMEZONE); regions carry their own
DEFAULT_TIMEZONE = "Asia/Shanghai"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    default_timezone: str = DEFAULT_TIMEZONE
    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    public_base_url: str | None = None
    proxy_fix_hops: int = 0
    upload_dir: str = str(PROJECT_ROOT / "instance" / "uploads")
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    osrm_url: str | None = None
    session_cookie_secure: bool = False
    token_ttl_hours: int = 24 * 30
    # at most this many SMS to one number in any rolling hour, urgent ones included
    sms_max_per_number_per_hour: int = 10

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token
                    and (self.twilio_from_number or self.twilio_messaging_service_sid))


def default_sqlite_url() -> str:
    instance = PROJECT_ROOT / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'fixroute.db'}"


def load_settings(overrides: dict | None = None) -> Settings:
    """Read settings from the environment; `overrides` (tests, scripts) win."""
    try:
        from dotenv import load_dotenv

        load_dotenv(PROJECT_ROOT / ".env", override=False)
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        pass
    env = os.environ
    values: dict[str, Any] = dict(
        database_url=env.get("DATABASE_URL") or default_sqlite_url(),
        secret_key=env.get("SECRET_KEY") or _dev_secret_key(),
        default_timezone=env.get("DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE,
        redis_url=env.get("REDIS_URL") or None,
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        public_base_url=env.get("PUBLIC_BASE_URL") or None,
        proxy_fix_hops=int(env.get("PROXY_FIX_HOPS", "0") or 0),
        upload_dir=env.get("UPLOAD_DIR") or str(PROJECT_ROOT / "instance" / "uploads"),
        map_tile_url=env.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
        osrm_url=env.get("OSRM_URL") or None,
        session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE")),
        token_ttl_hours=int(env.get("TOKEN_TTL_HOURS", str(24 * 30))),
        sms_max_per_number_per_hour=int(env.get("SMS_MAX_PER_NUMBER_PER_HOUR", "10") or 10),
    )
    if overrides:
        values.update(overrides)
    if values["sms_max_per_number_per_hour"] < 1:
        raise ValueError("SMS_MAX_PER_NUMBER_PER_HOUR must be at least 1")
    return Settings(**values)


def _dev_secret_key() -> str:
    """A per-checkout key kept under instance/ so sessions survive restarts in
    development without a secret in the repository. Production sets SECRET_KEY."""
    instance = PROJECT_ROOT / "instance"
    instance.mkdir(exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
