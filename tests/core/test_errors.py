"""Services raise core.errors, which know no HTTP; the web layer alone gives each kind
its status and the one JSON error format."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask_babel import lazy_gettext as _l

from core.api import error_body, http_status
from core.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Expired,
    InvalidInput,
    NotAllowed,
    NotFound,
    TooManyAttempts,
)
from dispatch.field.service_report import ReportLinkExpired, ReportLinkInvalid
from inventory.stock import InsufficientStock
from maintenance.recurrence import PickerError, RuleError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("exc, status, code", [
    (DomainError("x"), 400, "bad_request"),
    (InvalidInput("x"), 422, "validation_error"),
    (NotFound("x"), 404, "not_found"),
    (Conflict("x"), 409, "conflict"),
    (NotAllowed("x"), 403, "forbidden"),
    (AuthenticationFailed("x"), 401, "unauthorized"),
    (Expired("x"), 410, "expired"),
    (TooManyAttempts("x", retry_after=3), 429, "too_many_attempts"),
    # a subclass answers as the kind it is of, with its own code
    (InsufficientStock("x"), 409, "insufficient_stock"),
    (ReportLinkInvalid("x"), 404, "not_found"),
    (ReportLinkExpired("x"), 410, "gone"),
    (RuleError("x"), 422, "validation_error"),
    (PickerError("x", "every"), 422, "validation_error"),
    (Conflict("x", code="stale_version"), 409, "stale_version"),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_each_kind_of_error_has_its_status_in_the_web_layer(app, exc, status, code):
    assert http_status(exc) == status
    with app.test_request_context():
        assert error_body(exc) == {"error": {"status": status, "code": code, "message": "x",
                                             "fields": exc.fields}}


def test_the_old_api_names_are_the_same_classes_for_one_release():
    from core import api

    assert api.APIError is DomainError and api.ValidationFailed is InvalidInput
    assert api.Forbidden is NotAllowed and api.NotFound is NotFound and api.Conflict is Conflict


def test_a_picker_error_names_its_field_and_a_rule_error_is_still_a_value_error():
    exc = PickerError(_l("must be between 1 and %(max)s", max=12), "every")
    assert exc.field == "every"
    assert exc.fields == [{"field": "every", "reason": "must be between 1 and 12"}]
    assert isinstance(RuleError("x"), ValueError)  # the generation run skips such a plan


def test_core_errors_loads_without_flask_or_werkzeug():
    """A worker or a command may raise them without a web stack (import-linter checks
    the imports too; this checks what importing it actually loads)."""
    code = ("import sys, core.errors; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'flask', 'flask_babel', 'werkzeug'}); print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_password_and_too_many_attempts_answer_as_before(client, db):
    """401 and 429 with Retry-After come from the kinds, not from a status in core.users."""
    bad = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong-one"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "unauthorized"
    assert bad.get_json()["error"]["fields"][0]["field"] == "password"
    for _ in range(10):
        resp = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong"})
        if resp.status_code == 429:
            break
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_attempts"
    assert int(resp.headers["Retry-After"]) >= 1
