"""Every answer carries the security headers (issue 16, finding 10); the browser suite
checks the pages run under the policy (tests/browser/test_security_policy.py)."""
from __future__ import annotations

import re

from core.security import content_security_policy
from tests.builders.people import login
from tests.builders.world import make_world


def _script_src(policy: str) -> str:
    return next(d for d in policy.split(";") if d.strip().startswith("script-src")).strip()


def _assert_headers(resp) -> None:
    policy = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    script_src = _script_src(policy)
    assert "'self'" in script_src and "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert resp.headers.get("X-Frame-Options") == "DENY"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


def test_pages_errors_and_api_answers_carry_security_headers(client, db):
    make_world(db)
    _assert_headers(client.get("/login"))
    _assert_headers(client.get("/no-such-page"))
    _assert_headers(client.get("/api/v1/me"))
    _assert_headers(client.get("/static/css/app.css"))
    login(client, "dispatcher")
    _assert_headers(client.get("/", follow_redirects=True))


def test_each_request_gets_its_own_nonce(client, db):
    nonces = set()
    for _ in range(3):
        policy = client.get("/login").headers["Content-Security-Policy"]
        nonces.update(re.findall(r"'nonce-([^']+)'", policy))
    assert len(nonces) == 3


def test_templates_have_no_inline_script_or_event_handler():
    """A script the policy would block: inline code without the nonce, or on...= handlers.
    JSON data blocks (type="application/json") are not run and need no nonce."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            if "src=" in tag or 'type="application/json"' in tag or "csp_nonce()" in tag:
                continue
            offenders.append(f"{path.name}: {tag}")
        for handler in re.findall(r"\son[a-z]+\s*=", text, flags=re.IGNORECASE):
            offenders.append(f"{path.name}: {handler.strip()}")
        if "javascript:" in text.lower():
            offenders.append(f"{path.name}: javascript: URL")
    assert offenders == []


def test_map_tiles_origin_is_allowed_for_images():
    policy = content_security_policy("n", "https://{s}.tile.example.org/{z}/{x}/{y}.png")
    img = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert "https://*.tile.example.org" in img
    policy = content_security_policy("n", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "https://tile.openstreetmap.org" in policy
