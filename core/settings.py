"""Settings come from the environment (and a `.env` in development) so that no secret
is ever committed and the same code runs on one machine or many.

Each field is read from the environment variable of its name in capitals
(``database_url`` from ``DATABASE_URL``); a variable set but empty counts as unset,
except ``MAP_TILE_URL``, where empty means "no map tiles". A value that does not parse
or is out of range stops the start with a `SettingsError` naming the variable."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: the zone of times that belong to no region (DEFAULT_TIMEZONE); regions carry their own
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: read as given when set but empty (every other variable then takes its default)
_EMPTY_MEANS_EMPTY = frozenset({"map_tile_url"})
#: never repeated in an error message
_SECRET = frozenset({"secret_key", "twilio_auth_token", "database_url", "redis_url"})


class SettingsError(ValueError):
    """A setting the environment (or a caller's overrides) gives a value it cannot take."""


def default_sqlite_url() -> str:
    instance = PROJECT_ROOT / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'fixroute.db'}"


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


class Settings(BaseSettings):
    """The application's settings; frozen (a test changes one with ``model_copy``)."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(default_factory=default_sqlite_url)
    secret_key: str = Field(default_factory=_dev_secret_key)
    default_timezone: str = DEFAULT_TIMEZONE
    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    public_base_url: str | None = None
    proxy_fix_hops: int = Field(default=0, ge=0)
    upload_dir: str = str(PROJECT_ROOT / "instance" / "uploads")
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    osrm_url: str | None = None
    session_cookie_secure: bool = False
    token_ttl_hours: int = Field(default=24 * 30, ge=1)
    # at most this many SMS to one number in any rolling hour, urgent ones included
    sms_max_per_number_per_hour: int = Field(default=10, ge=1)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        if value == "" and info.field_name not in _EMPTY_MEANS_EMPTY:
            return cls.model_fields[str(info.field_name)].get_default(call_default_factory=True)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone of the IANA database (e.g. Asia/Shanghai)") from None
        return value

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token
                    and (self.twilio_from_number or self.twilio_messaging_service_sid))


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Read settings from the environment; `overrides` (tests, scripts) win."""
    try:
        from dotenv import load_dotenv

        # into os.environ, not only into Settings: the solver's and the scheduler's own
        # variables are read from there too
        load_dotenv(PROJECT_ROOT / ".env", override=False)
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        pass
    try:
        return Settings(**(overrides or {}))
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Each bad setting by its environment variable, with the reason (a secret's value
    is never repeated)."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "?"
        value = "" if name in _SECRET or err["type"] == "extra_forbidden" else f" (got {err.get('input')!r})"
        lines.append(f"{name.upper()}: {err['msg']}{value}")
    return "bad settings: " + "; ".join(lines)
