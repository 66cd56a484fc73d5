"""The errors services raise when a request cannot be done: what went wrong, in words
a person reads and a code a program branches on, never how it is answered.

Services in every package raise these; only the web layer (`core.api.http_status`, the
handlers in `app.py`, the views that flash a reason) decides the HTTP status, the JSON
error format or the flash message. So a service runs the same from a view, the API, a
command or a worker, and its tests check the kind of refusal, not a status code.

This module imports no Flask, no Werkzeug and no Flask-Babel (an import-linter contract
keeps it so). Messages and each field's reason may be lazy strings (``_l("...")`` with
``%(name)s`` parameters): they become text when read, in the language of the request
that reads them. English for logs and stored notes comes from the function
`core.i18n` installs with `set_english_renderer`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _as_text(text: Any) -> str:
    return str(text)


# Outside a request a lazy string is English already; core.i18n replaces this with
# Flask-Babel's forced English, which also holds inside a Chinese request.
_english: Callable[[Any], str] = _as_text


def set_english_renderer(render: Callable[[Any], str]) -> None:
    """How `message_en`/`fields_en` turn a (lazy) text into English: core.i18n hands
    Flask-Babel's down here, as this module may not import it."""
    global _english
    _english = render


class DomainError(Exception):
    """A request FixRoute refuses, with the reason. `code` never changes with the
    language (clients branch on it); `fields` says which input it is about:
    [{"field", "reason"}]. `field=` is the short form for one field whose reason is
    the message itself.

    Raised as is, it is a request that makes no sense (the web layer answers 400);
    the subclasses below say which kind of refusal it is."""

    code = "bad_request"

    def __init__(
        self,
        message: Any,
        *,
        code: str | None = None,
        field: str | None = None,
        fields: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self._message = message
        if code is not None:
            self.code = code
        self._fields = list(fields or [])
        if field is not None:
            self._fields.insert(0, {"field": field, "reason": message})

    @property
    def message(self) -> str:
        """The reason, in the language of the current request."""
        return str(self._message)

    @property
    def message_en(self) -> str:
        """The reason in English, whatever the request's language."""
        return _english(self._message)

    @property
    def fields(self) -> list[dict[str, str]]:
        """[{"field", "reason"}], each reason in the language of the current request."""
        return [{**f, "reason": str(f["reason"])} for f in self._fields]

    @property
    def fields_en(self) -> list[dict[str, str]]:
        """[{"field", "reason"}], each reason in English."""
        return [{**f, "reason": _english(f["reason"])} for f in self._fields]

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The input breaks a rule of its own: missing, out of range, unknown, malformed."""

    code = "validation_error"


class NotFound(DomainError):
    """What the request names does not exist (or is not for this caller to know)."""

    code = "not_found"


class Conflict(DomainError):
    """A change the current state does not allow: a closed work order, a stale plan
    version, stock that is not there."""

    code = "conflict"


class NotAllowed(DomainError):
    """The caller may not do this to this thing (another technician's visit, say)."""

    code = "forbidden"


class AuthenticationFailed(DomainError):
    """The credentials given do not name an active user."""

    code = "unauthorized"


class Expired(DomainError):
    """Something that was valid once and no longer is: an old link, a used token."""

    code = "expired"


class TooManyAttempts(DomainError):
    """Sign-ins refused for a while after too many failures; `retry_after` in seconds."""

    code = "too_many_attempts"

    def __init__(self, message: Any, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
