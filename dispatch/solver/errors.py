"""The one error the solver raises for bad input."""

from __future__ import annotations

from typing import Any


class ProblemError(ValueError):
    """Input that cannot describe a routing problem.

    ``field`` is a JSON-path-like name (``jobs[3].service``) so that a web form or
    an API client can point at the culprit; ``reason`` says what is wrong.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        return {"code": 2, "error": {"field": self.field, "reason": self.reason}}

    def __reduce__(self) -> tuple[type[ProblemError], tuple[str, str]]:  # picklable across processes
        return (ProblemError, (self.field, self.reason))
