"""Settings from the environment: every variable by its documented name, the defaults
when it is unset or empty, and a start refused with the variable named when a value
does not parse or is out of range."""
from __future__ import annotations

import pytest

from core.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

#: every setting's environment variable with a good value and the value it becomes
GOOD = {
    "DATABASE_URL": ("postgresql://fixroute@db:5432/fixroute", "postgresql://fixroute@db:5432/fixroute"),
    "SECRET_KEY": ("s3cret", "s3cret"),
    "DEFAULT_TIMEZONE": ("Europe/Berlin", "Europe/Berlin"),
    "REDIS_URL": ("redis://cache:6379/0", "redis://cache:6379/0"),
    "TWILIO_ACCOUNT_SID": ("AC123", "AC123"),
    "TWILIO_AUTH_TOKEN": ("tok", "tok"),
    "TWILIO_FROM_NUMBER": ("+15005550006", "+15005550006"),
    "TWILIO_MESSAGING_SERVICE_SID": ("MG123", "MG123"),
    "TWILIO_API_BASE_URL": ("http://127.0.0.1:9999", "http://127.0.0.1:9999"),
    "PUBLIC_BASE_URL": ("https://fixroute.example.com/", "https://fixroute.example.com/"),
    "PROXY_FIX_HOPS": ("2", 2),
    "UPLOAD_DIR": ("/srv/uploads", "/srv/uploads"),
    "MAP_TILE_URL": ("https://tiles.example.com/{z}/{x}/{y}.png", "https://tiles.example.com/{z}/{x}/{y}.png"),
    "OSRM_URL": ("http://osrm:5000", "http://osrm:5000"),
    "SESSION_COOKIE_SECURE": ("true", True),
    "TOKEN_TTL_HOURS": ("12", 12),
    "SMS_MAX_PER_NUMBER_PER_HOUR": ("4", 4),
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No setting in the environment, and no .env read (the checkout's own is not the test's)."""
    for name in GOOD:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("core.settings.PROJECT_ROOT", tmp_path)
    return monkeypatch


def test_every_variable_is_read_by_its_name(env):
    for name, (raw, _) in GOOD.items():
        env.setenv(name, raw)
    s = load_settings()
    assert {name: getattr(s, name.lower()) for name in GOOD} == {n: v for n, (_, v) in GOOD.items()}
    assert set(Settings.model_fields) == {name.lower() for name in GOOD}  # none undocumented here


def test_defaults_when_unset_or_empty(env):
    defaults = {
        "default_timezone": "Asia/Shanghai", "redis_url": None, "twilio_account_sid": None,
        "twilio_auth_token": None, "twilio_from_number": None, "twilio_messaging_service_sid": None,
        "twilio_api_base_url": None, "public_base_url": None, "proxy_fix_hops": 0,
        "upload_dir": str(PROJECT_ROOT / "instance" / "uploads"),
        "map_tile_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "osrm_url": None,
        "session_cookie_secure": False, "token_ttl_hours": 720, "sms_max_per_number_per_hour": 10,
    }
    unset = load_settings({"database_url": "sqlite://", "secret_key": "x"})
    assert {k: getattr(unset, k) for k in defaults} == defaults
    for name in GOOD:
        if name != "MAP_TILE_URL":
            env.setenv(name, "")
    empty = load_settings({"database_url": "sqlite://", "secret_key": "x"})
    assert {k: getattr(empty, k) for k in defaults} == defaults
    assert not empty.twilio_configured


def test_database_and_secret_key_default_to_the_checkout_instance(env, tmp_path):
    s = load_settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'instance' / 'fixroute.db'}"
    assert s.secret_key == (tmp_path / "instance" / "secret_key").read_text().strip()
    assert load_settings().secret_key == s.secret_key  # kept across starts


def test_an_empty_map_tile_url_means_no_tiles(env):
    env.setenv("MAP_TILE_URL", "")
    assert load_settings({"database_url": "sqlite://", "secret_key": "x"}).map_tile_url == ""


@pytest.mark.parametrize(("name", "raw"), [
    ("PROXY_FIX_HOPS", "two"),
    ("PROXY_FIX_HOPS", "-1"),
    ("TOKEN_TTL_HOURS", "1.5"),
    ("TOKEN_TTL_HOURS", "0"),
    ("SMS_MAX_PER_NUMBER_PER_HOUR", "0"),
    ("SESSION_COOKIE_SECURE", "maybe"),
    ("DEFAULT_TIMEZONE", "Mars/Olympus_Mons"),
])
def test_a_bad_value_stops_the_start_naming_its_variable(env, name, raw):
    env.setenv(name, raw)
    with pytest.raises(SettingsError) as exc:
        load_settings({"database_url": "sqlite://", "secret_key": "x"})
    assert name in str(exc.value) and repr(raw) in str(exc.value)


def test_a_bad_secret_is_named_but_never_repeated(env):
    with pytest.raises(SettingsError) as exc:
        load_settings({"database_url": "sqlite://", "secret_key": "x", "twilio_auth_token": 42.5})
    assert "TWILIO_AUTH_TOKEN" in str(exc.value) and "42.5" not in str(exc.value)


def test_an_unknown_override_is_refused(env):
    with pytest.raises(SettingsError, match="DATABASE_URI"):
        load_settings({"database_uri": "sqlite://"})


def test_settings_are_frozen_and_copied_with_changes(env):
    s = load_settings({"database_url": "sqlite://", "secret_key": "x"})
    with pytest.raises(ValueError):
        s.osrm_url = "http://osrm:5000"
    assert s.model_copy(update={"osrm_url": "http://osrm:5000"}).osrm_url == "http://osrm:5000"
    assert s.osrm_url is None
