"""The JSON API's shared pieces: one error format, input validation, pagination.

Every error under /api/ answers
``{"error": {"status", "code", "message", "fields": [{"field", "reason"}]}}`` so
that scripts and the phones can show the field and the reason without guessing.
Services raise the errors of `core.errors`, which know nothing of HTTP; the status of
each kind is decided here (`HTTP_STATUS`, `http_status`) and nowhere else.

Messages and reasons are written with ``lazy_gettext`` (``_l``) and turned into text
only when they are read: a page or a JSON answer shows them in the language of the
request that reads them (English outside a request). ``code`` and ``field`` never
change with the language; clients that branch on an error use those."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.exceptions import BadRequest

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
from core.models import MAX_ID

M = TypeVar("M", bound=BaseModel)

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")


class SafeJSONProvider(DefaultJSONProvider):
    """JSON for the whole app, reading request bodies without a server error: a body
    nested deeper than Python's parser can recurse (100,000 brackets, 200 KB) raised
    RecursionError, which `get_json(silent=True)` does not catch, and answered 500.
    It is the client's malformed input: a 400 in the one error format."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise BadRequest(str(_l("the JSON body is nested too deeply"))) from None


@api_v1.record_once
def _install_json_provider(state) -> None:
    state.app.json = SafeJSONProvider(state.app)


# The HTTP status of each kind of domain error (core.errors): the one place that knows.
# A subclass answers as the nearest class listed; DomainError itself is a 400.
HTTP_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    NotAllowed: 403,
    AuthenticationFailed: 401,
    Expired: 410,
    TooManyAttempts: 429,
}


def http_status(exc: DomainError) -> int:
    """The status a domain error answers with, on the API and on an HTML page."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


def error_body(exc: DomainError) -> dict[str, Any]:
    """The one JSON error format for a domain error, in the request's language."""
    return {"error": {"status": http_status(exc), "code": exc.code, "message": exc.message,
                      "fields": exc.fields}}


# The names services raised before core.errors, kept for one release so that code
# written against them meanwhile still runs; new code imports from core.errors.
APIError = DomainError
ValidationFailed = InvalidInput
Forbidden = NotAllowed


def error_response(status: int, code: str, message: str, fields=None) -> Response:
    resp = jsonify(
        {"error": {"status": status, "code": code, "message": message, "fields": fields or []}}
    )
    resp.status_code = status
    return resp


def _loc_to_field(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def parse_body(model: type[M], data: Any = None) -> M:
    """Validate a JSON body against a pydantic model; errors name each field."""
    if data is None:
        data = request.get_json(silent=True)
        if data is None:
            raise InvalidInput(_l("request body must be a JSON object"), field="body")
    if not isinstance(data, dict):
        raise InvalidInput(_l("request body must be a JSON object"), field="body")
    refuse_unstorable_text(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error_from_pydantic(exc) from None


def _text_problem(value: str) -> Any:
    if "\x00" in value:
        return _l("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800" from a JSON escape
        return _l("must be valid Unicode text")
    return None


def refuse_unstorable_text(data: Any) -> None:
    """Refuse text no database column can hold, naming the field: a lone surrogate
    (JSON allows "\ud800"; encoding it for the database raised UnicodeEncodeError, a
    500) or a NUL character (PostgreSQL refuses it in text). Every JSON body passes
    here before its model, so every string field of every endpoint is covered; walked
    without recursion, keys included."""
    stack: list[tuple[tuple, Any]] = [((), data)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                where = (*loc, key)
                if isinstance(key, str) and (problem := _text_problem(key)) is not None:
                    raise _field_error(_loc_to_field(loc) if loc else "body", problem)
                stack.append((where, value))
        elif isinstance(node, list):
            stack.extend(((*loc, i), value) for i, value in enumerate(node))
        elif isinstance(node, str) and (problem := _text_problem(node)) is not None:
            raise _field_error(_loc_to_field(loc), problem)


def _field_error(field: str, reason: Any) -> InvalidInput:
    return InvalidInput(_l("%(field)s: %(reason)s", field=field, reason=reason),
                        fields=[{"field": field, "reason": reason}])


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error_from_pydantic(exc) from None


def _pydantic_reason(err: Mapping[str, Any]) -> Any:
    """pydantic's reason for one field in the reader's language (its own English text
    for the kinds of error not listed here)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        error = ctx["error"]  # our validators raise ValueError(_l(...))
        return LazyString(lambda: str(error))
    reasons = {
        "missing": lambda: _l("is required"),
        "int_parsing": lambda: _l("must be an integer"),
        "int_type": lambda: _l("must be an integer"),
        "int_from_float": lambda: _l("must be an integer"),
        "float_parsing": lambda: _l("must be a number"),
        "float_type": lambda: _l("must be a number"),
        "bool_parsing": lambda: _l("must be true or false"),
        "bool_type": lambda: _l("must be true or false"),
        "string_type": lambda: _l("must be text"),
        "string_too_short": lambda: _l("must be at least %(n)s characters", n=ctx["min_length"]),
        "string_too_long": lambda: _l("must be at most %(n)s characters", n=ctx["max_length"]),
        "too_short": lambda: _l("must have at least %(n)s items", n=ctx["min_length"]),
        "too_long": lambda: _l("must have at most %(n)s items", n=ctx["max_length"]),
        "greater_than": lambda: _l("must be greater than %(limit)s", limit=ctx["gt"]),
        "greater_than_equal": lambda: _l("must be at least %(limit)s", limit=ctx["ge"]),
        "less_than": lambda: _l("must be less than %(limit)s", limit=ctx["lt"]),
        "less_than_equal": lambda: _l("must be at most %(limit)s", limit=ctx["le"]),
        "literal_error": lambda: _l("must be one of %(choices)s", choices=ctx["expected"]),
        "enum": lambda: _l("must be one of %(choices)s", choices=ctx["expected"]),
        "date_type": lambda: _l("must be a date YYYY-MM-DD"),
        "date_parsing": lambda: _l("must be a date YYYY-MM-DD"),
        "date_from_datetime_parsing": lambda: _l("must be a date YYYY-MM-DD"),
        "date_from_datetime_inexact": lambda: _l("must be a date YYYY-MM-DD"),
        "datetime_type": lambda: _l("must be an ISO 8601 date-time"),
        "datetime_parsing": lambda: _l("must be an ISO 8601 date-time"),
        "datetime_from_date_parsing": lambda: _l("must be an ISO 8601 date-time"),
        "timezone_aware": lambda: _l("must include a time zone offset"),
        "list_type": lambda: _l("must be a list"),
        "dict_type": lambda: _l("must be an object"),
        "model_type": lambda: _l("must be an object"),
        "model_attributes_type": lambda: _l("must be an object"),
        "extra_forbidden": lambda: _l("is not an accepted field"),
    }
    make = reasons.get(kind)
    try:
        return make() if make else err["msg"]
    except KeyError:  # a context value this pydantic version does not give
        return err["msg"]


def validation_error_from_pydantic(exc: ValidationError) -> InvalidInput:
    fields = [
        {"field": _loc_to_field(err["loc"]), "reason": _pydantic_reason(err)}
        for err in exc.errors()
    ]
    first = fields[0] if fields else {"field": "body", "reason": _l("invalid")}
    message = _l("%(field)s: %(reason)s", field=first["field"], reason=first["reason"])
    return InvalidInput(message, fields=fields)


# The page bounds of every list (the OpenAPI document states them for each `page` and
# `per_page` parameter): MAX_PAGE keeps OFFSET inside the database's integer range.
MAX_PAGE = 100_000
PER_PAGE = 50
MAX_PER_PAGE = 200


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_l("must not contain NUL characters"))
    return value


# The field types of every JSON body (desk, backups, stock, ...): text without NUL
# characters (PostgreSQL refuses them), ids inside the database's integer range, and
# bodies that name no field they do not know.
Text = Annotated[str, AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    page: int = 1
    per_page: int = PER_PAGE

    def model_post_init(self, _ctx: Any) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(_l("must be between 1 and %(max)s", max=MAX_PAGE), field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(_l("must be between 1 and %(max)s", max=MAX_PER_PAGE), field="per_page")


def read_page() -> Page:
    args = request.args
    try:
        page = int(args.get("page", 1))
    except ValueError:
        raise InvalidInput(_l("must be an integer"), field="page") from None
    try:
        per_page = int(args.get("per_page", PER_PAGE))
    except ValueError:
        raise InvalidInput(_l("must be an integer"), field="per_page") from None
    return Page(page=page, per_page=per_page)


def paginate(session: Session, statement, page: Page, serialize) -> dict[str, Any]:
    """One page of a select() with the total, for every list endpoint."""
    total = session.exec(select(func.count()).select_from(statement.order_by(None).subquery())).one()
    rows = session.exec(statement.offset((page.page - 1) * page.per_page).limit(page.per_page)).all()
    return _page_body([serialize(r) for r in rows], page, total)


def paginate_list(rows: Sequence[Any], page: Page, serialize) -> dict[str, Any]:
    """One page of rows already in memory (a list no single select() gives), in the
    same shape as `paginate`."""
    chunk = rows[(page.page - 1) * page.per_page: page.page * page.per_page]
    return _page_body([serialize(r) for r in chunk], page, len(rows))


def _page_body(items: list[Any], page: Page, total: int) -> dict[str, Any]:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": total,
        "pages": (total + page.per_page - 1) // page.per_page,
    }
