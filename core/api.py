"""The JSON API's shared pieces: one error format, input validation, pagination.

Every error under /api/ answers
``{"error": {"status", "code", "message", "fields": [{"field", "reason"}]}}`` so
that scripts and the phones can show the field and the reason without guessing."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

M = TypeVar("M", bound=BaseModel)

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")


class APIError(Exception):
    """An error a client can act on. Services raise it (or a subclass) and views
    let it through; the handler renders the one error format (JSON for /api/, a
    flash message or error page for HTML)."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.fields = list(fields or [])
        if field is not None:
            self.fields.insert(0, {"field": field, "reason": message})

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "status": self.status,
                "code": self.code,
                "message": self.message,
                "fields": self.fields,
            }
        }


class ValidationFailed(APIError):
    status = 422
    code = "validation_error"


class NotFound(APIError):
    status = 404
    code = "not_found"


class Conflict(APIError):
    """A state change that the current state does not allow (409)."""

    status = 409
    code = "conflict"


class Forbidden(APIError):
    status = 403
    code = "forbidden"


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
            raise ValidationFailed(
                "request body must be a JSON object", field="body"
            )
    if not isinstance(data, dict):
        raise ValidationFailed("request body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error_from_pydantic(exc) from None


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error_from_pydantic(exc) from None


def validation_error_from_pydantic(exc: ValidationError) -> ValidationFailed:
    fields = [
        {"field": _loc_to_field(err["loc"]), "reason": err["msg"]} for err in exc.errors()
    ]
    first = fields[0] if fields else {"field": "body", "reason": "invalid"}
    return ValidationFailed(f"{first['field']}: {first['reason']}", fields=fields)


MAX_PAGE = 1_000_000  # keeps OFFSET inside the database's integer range


class Page(BaseModel):
    page: int = 1
    per_page: int = 50

    def model_post_init(self, _ctx: Any) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValidationFailed(f"must be between 1 and {MAX_PAGE}", field="page")
        if not 1 <= self.per_page <= 200:
            raise ValidationFailed("must be between 1 and 200", field="per_page")


def read_page() -> Page:
    args = request.args
    try:
        page = int(args.get("page", 1))
    except ValueError:
        raise ValidationFailed("must be an integer", field="page") from None
    try:
        per_page = int(args.get("per_page", 50))
    except ValueError:
        raise ValidationFailed("must be an integer", field="per_page") from None
    return Page(page=page, per_page=per_page)


def paginate(session: Session, statement, page: Page, serialize) -> dict[str, Any]:
    """One page of a select() with the total, for every list endpoint."""
    total = session.exec(select(func.count()).select_from(statement.order_by(None).subquery())).one()
    rows = session.exec(statement.offset((page.page - 1) * page.per_page).limit(page.per_page)).all()
    return {
        "items": [serialize(r) for r in rows],
        "page": page.page,
        "per_page": page.per_page,
        "total": total,
        "pages": (total + page.per_page - 1) // page.per_page,
    }
