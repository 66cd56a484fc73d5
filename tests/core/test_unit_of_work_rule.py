"""Who commits (issue 17.3): every write is a `core.db.unit_of_work`, owned by a service;
pages and API handlers never commit, roll back or open a unit themselves.

Read from the source (AST), so that a `session.commit()` added to a view or a service
fails here, not in a race on a busy day. The few calls that must stay are listed with
their reason; an entry that no longer matches anything fails too, so the list never
outlives its reason."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("core", "notifications", "inventory", "dispatch", "maintenance", "demo", "app.py")

# What ends or opens a transaction. `begin_nested` (a savepoint inside a unit) is fine.
TRANSACTION_CALLS = {"commit", "rollback", "begin"}
# core.db's own steps of a unit: only core.db composes them.
UNIT_STEPS = {"begin_write", "begin_unit"}
# Not in a page or an API handler at all: the write belongs in a service. (The app's
# error handlers drop what a failed request held with core.db.discard_request_changes.)
VIEW_FORBIDDEN = TRANSACTION_CALLS | UNIT_STEPS | {"unit_of_work", "end_transaction"}
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}

# (module, function) -> why it commits or rolls back outside core.db
ALLOWED: dict[tuple[str, str], str] = {
    ("maintenance/scheduler.py", "SchedulerGuard._acquire_pg"):
        "the scheduler guard's own Connection ends the transaction in which it took the "
        "PostgreSQL session-level advisory lock (the lock outlives it); nothing is written",
    ("maintenance/scheduler.py", "SchedulerGuard.release"):
        "the same Connection ends the transaction in which it dropped that lock",
}


def _modules() -> list[Path]:
    out: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


class _Calls(ast.NodeVisitor):
    """Every call with the qualified name of the function it is in."""

    def __init__(self) -> None:
        self.scope: list[str] = []
        self.calls: list[tuple[str, str, int]] = []  # (qualname, called name, line)
        self.routes = 0

    def _enter(self, node) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for deco in node.decorator_list:
            if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr in ROUTE_DECORATORS):
                self.routes += 1
        self._enter(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        if name is not None:
            self.calls.append((".".join(self.scope) or "<module>", name, node.lineno))
        self.generic_visit(node)


def _scan() -> dict[str, _Calls]:
    found = {}
    for path in _modules():
        visitor = _Calls()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found[path.relative_to(ROOT).as_posix()] = visitor
    return found


SCAN = _scan()
VIEW_MODULES = sorted(m for m, v in SCAN.items() if v.routes)


def test_the_view_modules_are_found():
    """The rule below is only as good as this list: the pages and API modules of every
    package must be in it (a decorator style it misses would silently exempt them)."""
    for module in ("core/admin.py", "core/auth.py", "core/web.py", "notifications/views.py",
                   "inventory/views.py", "inventory/api.py", "dispatch/desk/views.py",
                   "dispatch/desk/api.py", "dispatch/workorders/replies_views.py",
                   "dispatch/planning/api.py", "dispatch/field/api.py",
                   "maintenance/views.py", "maintenance/api.py"):
        assert module in VIEW_MODULES


def test_views_and_api_handlers_never_commit_or_roll_back():
    """A page or an API handler parses, calls a service that owns its unit of work, and
    answers; the service rolls back its own failures, the app's error handlers drop
    whatever else the request held."""
    offences = [f"{module}:{line} {qualname}() calls {name}()"
                for module in VIEW_MODULES
                for qualname, name, line in SCAN[module].calls if name in VIEW_FORBIDDEN]
    assert offences == []


def test_only_core_db_commits_or_rolls_back():
    """Services write inside `core.db.unit_of_work` (or its documented variants in
    core.db); a commit or rollback anywhere else needs an entry in ALLOWED."""
    seen: set[tuple[str, str]] = set()
    offences = []
    for module, visitor in SCAN.items():
        if module == "core/db.py":
            continue
        for qualname, name, line in visitor.calls:
            if name not in TRANSACTION_CALLS | UNIT_STEPS:
                continue
            if name in TRANSACTION_CALLS and (module, qualname) in ALLOWED:
                seen.add((module, qualname))
                continue
            offences.append(f"{module}:{line} {qualname}() calls {name}()")
    assert offences == []
    assert seen == set(ALLOWED), "an allowed exception no longer exists: drop it from ALLOWED"
