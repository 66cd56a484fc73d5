"""The OpenAPI document and the answers agree (issue 16, finding 12): anonymous writes
are 401 as documented (not a CSRF 400), ids and pages are documented with the bounds
the code enforces, an empty enum filter is documented as "no filter", and a method a
path does not list answers 405 with `Allow`, as the document says."""
from __future__ import annotations

import re

from core.api import MAX_PAGE
from core.openapi import MAX_ID
from tests.builders.people import bearer, login
from tests.builders.world import make_world

METHODS = ("get", "post", "put", "patch", "delete")


def _spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _url(path: str, value: int = 1) -> str:
    return re.sub(r"\{[^}]+\}", str(value), path)


def test_anonymous_api_writes_answer_401_even_with_csrf_on(app, client, db):
    make_world(db)
    spec = _spec(client)
    browser = app.test_client()
    login(browser, "dispatcher")  # signed in before the CSRF check is turned on
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        answers = {}
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                if method in ("post", "put", "patch", "delete") and op.get("security") != []:
                    answers[f"{method.upper()} {path}"] = client.open(
                        _url(path), method=method.upper(), json={}).status_code
        assert answers and set(answers.values()) == {401}, answers
        # a signed-in browser session still needs the CSRF token
        resp = browser.post("/api/v1/work-orders/1/notes", json={"text": "x"})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_ids_and_pages_are_documented_with_the_bounds_the_code_enforces(client, db):
    make_world(db)
    spec = _spec(client)
    h = bearer(client, "admin")
    lists = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schema = p["schema"]
                if schema.get("type") == "integer" and (p["in"] == "path"
                                                        or p["name"].endswith("_id")):
                    assert (schema.get("minimum"), schema.get("maximum")) == (1, MAX_ID), (
                        path, p["name"])
                if p["name"] == "page":
                    assert schema["maximum"] == MAX_PAGE, path
                    if method == "get" and "{" not in path:
                        lists.append(path)
    assert len(lists) >= 10
    for path in lists:
        assert client.get(f"{path}?page={MAX_PAGE}", headers=h).status_code != 422, path
        over = client.get(f"{path}?page={MAX_PAGE + 1}", headers=h)
        assert over.status_code == 422 and over.get_json()["error"]["fields"][0]["field"] == "page"
    # the largest documented id is a well-formed id of nothing: 404, not 422
    assert client.get(f"/api/v1/work-orders/{MAX_ID}", headers=h).status_code == 404
    assert client.get(f"/api/v1/inventory/moves?work_order_id={MAX_ID}",
                      headers=h).status_code == 200
    assert client.get(f"/api/v1/tech/day?technician_id={MAX_ID}", headers=h).status_code == 404


def test_an_empty_enum_filter_is_documented_as_no_filter_and_accepted(client, db):
    make_world(db)
    spec = _spec(client)
    [priority] = [p for p in spec["paths"]["/api/v1/work-orders"]["get"]["parameters"]
                  if p["name"] == "priority"]
    assert "" in priority["schema"]["enum"] and priority["allowEmptyValue"] is True
    h = bearer(client, "dispatcher")
    assert client.get("/api/v1/work-orders?priority=", headers=h).status_code == 200
    bad = client.get("/api/v1/work-orders?priority=urgent", headers=h)
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"][0]["field"] == "priority"
    enums = [(path, p["name"]) for path, ops in spec["paths"].items() for op in ops.values()
             for p in op.get("parameters", []) if "enum" in p["schema"]]
    for path, name in enums:
        assert client.get(f"{_url(path)}?{name}=", headers=h).status_code in (200, 403, 404), (
            path, name)


def test_undocumented_methods_answer_405_with_allow_as_documented(app, client, db):
    make_world(db)
    spec = _spec(client)
    assert "405" in spec["info"]["description"]
    assert "Allow" in spec["components"]["responses"]["MethodNotAllowed"]["headers"]
    h = bearer(client, "admin")
    checked = 0
    for path, ops in spec["paths"].items():
        for method in METHODS:
            if method in ops:
                continue
            resp = client.open(_url(path), method=method.upper(), headers=h, json={})
            assert resp.status_code == 405, (method, path, resp.status_code)
            assert resp.is_json and resp.get_json()["error"]["status"] == 405
            allowed = {m.strip().lower() for m in resp.headers["Allow"].split(",")}
            assert set(ops) <= allowed, (path, allowed)
            checked += 1
    assert checked > 100
