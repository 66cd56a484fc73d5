"""The OpenAPI document served at /api/v1/openapi.json.

Each package describes its endpoints next to the view with `document(...)`; the
request and response shapes come from the same pydantic models that validate the
input, so the document cannot drift from what the code accepts."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from core.api import MAX_PAGE, MAX_PER_PAGE
from core.models import MAX_ID

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, Any] = {}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message", "fields"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                    },
                },
            },
        }
    },
}


def _schema_ref(model: type[BaseModel] | dict | None) -> dict | None:
    if model is None:
        return None
    if isinstance(model, dict):
        return model
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        _SCHEMAS[name] = sub
    _SCHEMAS[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document(
    path: str,
    method: str,
    *,
    summary: str,
    tag: str,
    request: type[BaseModel] | dict | None = None,
    response: type[BaseModel] | dict | None = None,
    status: int = 200,
    parameters: list[dict] | None = None,
    errors: tuple[int, ...] = (400, 401, 403, 404, 422),
    multipart: dict | None = None,
    auth: bool = True,
) -> None:
    """Describe one endpoint (path in OpenAPI form, e.g. /api/v1/work-orders/{id})."""
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {}}
    if parameters:
        op["parameters"] = parameters
    req = _schema_ref(request)
    if req is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": req}}}
    elif multipart is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": multipart}},
        }
    resp = _schema_ref(response) or {"type": "object"}
    op["responses"][str(status)] = {
        "description": "OK",
        "content": {"application/json": {"schema": resp}},
    }
    for code in errors:
        op["responses"][str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if not auth:
        op["security"] = []
    _PATHS.setdefault(path, {})[method.lower()] = op


def path_param(name: str, type_: str = "integer") -> dict:
    """A path parameter; integer ids get their bounds in build_spec."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": type_}}


def query_param(name: str, type_: str = "string", enum: list[str] | None = None, *,
                minimum: int | None = None, maximum: int | None = None) -> dict:
    schema: dict[str, Any] = {"type": type_}
    if enum:
        schema["enum"] = enum
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGE_PARAMS = [
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    },
]


def _openapi_30(node: Any) -> Any:
    """pydantic writes JSON Schema 2020-12 (numeric exclusiveMinimum/Maximum); OpenAPI
    3.0 wants minimum/maximum with a boolean flag. Converted on the way out."""
    if isinstance(node, list):
        return [_openapi_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_30(v) for k, v in node.items()}
    for excl, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(excl)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[bound] = value
            out[excl] = True
    return out


def _state_real_bounds(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the code accepts, stated once for every operation so that no endpoint's
    document can promise more: path ids and `*_id` query filters are 1..2**31-1 (the
    code refuses others with 422 or 404), `page` is 1..MAX_PAGE, and an enum filter may
    be sent empty (``priority=``), which every list reads as "no filter"."""
    out: dict[str, dict[str, Any]] = {}
    for path, ops in paths.items():
        out[path] = {}
        for method, op in ops.items():
            op = dict(op)
            params = []
            for p in op.get("parameters", []):
                p = {**p, "schema": dict(p.get("schema", {}))}
                sch, where, name = p["schema"], p.get("in"), p.get("name", "")
                if sch.get("type") == "integer" and (where == "path" or name.endswith("_id")):
                    sch.setdefault("minimum", 1)
                    sch.setdefault("maximum", MAX_ID)
                if where == "query" and name == "page":
                    sch["maximum"] = min(sch.get("maximum", MAX_PAGE), MAX_PAGE)
                if where == "query" and "enum" in sch and "" not in sch["enum"]:
                    sch["enum"] = [*sch["enum"], ""]
                    p["allowEmptyValue"] = True
                    p.setdefault("description", "empty: no filter")
                params.append(p)
            if params:
                op["parameters"] = params
            out[path][method] = op
    return out


METHOD_NOT_ALLOWED = (
    "A method an operation does not list answers 405 Method Not Allowed in the error "
    "format, with an `Allow` header naming the methods the path accepts.")


def build_spec() -> dict[str, Any]:
    return _openapi_30({
        "openapi": "3.0.3",
        "info": {"title": "FixRoute API", "version": "1", "description": METHOD_NOT_ALLOWED},
        "servers": [{"url": "/"}],
        "paths": _state_real_bounds(dict(sorted(_PATHS.items()))),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **_SCHEMAS},
            "responses": {"MethodNotAllowed": {
                "description": METHOD_NOT_ALLOWED,
                "headers": {"Allow": {"schema": {"type": "string"}}},
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    })
