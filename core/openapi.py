"""The OpenAPI document served at /api/v1/openapi.json.

Each package describes its endpoints next to the view with `document(...)`; the
request and response shapes come from the same pydantic models that validate the
input, so the document cannot drift from what the code accepts."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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
    return {"name": name, "in": "path", "required": True, "schema": {"type": type_}}


def query_param(name: str, type_: str = "string", enum: list[str] | None = None) -> dict:
    schema: dict[str, Any] = {"type": type_}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGE_PARAMS = [
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000}},
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
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


def build_spec() -> dict[str, Any]:
    return _openapi_30({
        "openapi": "3.0.3",
        "info": {"title": "FixRoute API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(_PATHS.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **_SCHEMAS},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    })
