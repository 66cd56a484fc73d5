import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_user_facing_string_has_a_chinese_translation():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    # pybabel only warns (and the check passes) when a translated call holds something
    # it cannot read, such as an f-string argument: such a message is easy to lose
    assert "warning" not in result.stderr, result.stderr


def test_the_time_limit_refusal_names_the_limit_as_people_write_it(app):
    from core.errors import InvalidInput
    from dispatch.planning.jobs import start_plan_job

    with pytest.raises(InvalidInput) as refused:
        start_plan_job(None, 1, version=None, database_url="", time_limit_s=301)
    assert refused.value.message_en == "must be between 0.1 and 300 seconds"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert refused.value.message == "必须在 0.1 到 300 秒之间"


def test_a_service_reason_is_worded_when_read_in_the_readers_language(app):
    from core.api import error_body
    from core.errors import Conflict
    from dispatch.workorders.service import refusal_reason

    exc = Conflict(refusal_reason("completed", "ready"), field="status")
    english = "the work order is completed; closed work orders do not change status"
    assert exc.message == english and str(exc) == english  # no request: English
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert exc.message == "工单已是“已完成”状态；已关闭的工单不能再变更状态"
        assert exc.fields == [{"field": "status", "reason": exc.message}]
        assert exc.message_en == english  # for logs and notes kept in the database
        assert exc.fields_en == [{"field": "status", "reason": english}]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert error_body(exc)["error"]["message"] == english


def test_service_errors_are_written_for_translation():
    """An error's message is shown to people (flash, error page, API): it is written with
    _l("... %(name)s ...") so that it reads in their language, never as a bare or f-string."""
    import ast

    errors = {"DomainError", "InvalidInput", "NotFound", "Conflict", "NotAllowed",
              "AuthenticationFailed", "Expired", "TooManyAttempts", "InsufficientStock",
              "RuleError", "PickerError", "ReportLinkInvalid", "ReportLinkExpired",
              "APIError", "ValidationFailed", "Forbidden"}  # core.api's names of one release
    bare = []
    for package in ("core", "dispatch", "inventory", "maintenance", "notifications"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "solver" in path.parts:  # pure, no Flask: raises its own errors
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in errors and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                    bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == [], "wrap these messages in _l(...): " + ", ".join(bare)
