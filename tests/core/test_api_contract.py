from tests.builders.people import bearer
from tests.builders.world import make_world


def test_openapi_document_is_served_and_lists_auth(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in spec["paths"]
    assert "Error" in spec["components"]["schemas"]


def test_unknown_api_path_answers_in_the_error_format(client, db):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_wrong_method_answers_in_the_error_format(client, db):
    resp = client.get("/api/v1/auth/token")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["status"] == 405


def test_healthz_touches_the_database(client, db):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_language_switch_is_remembered(client, db):
    make_world(db)
    client.post("/login", data={"username": "agent", "password": "correct-horse-9"})
    client.post("/lang/zh", data={"next": "/"})
    page = client.get("/", follow_redirects=True)
    assert "退出".encode() in page.data
    client.post("/lang/en", data={"next": "/"})
    page = client.get("/", follow_redirects=True)
    assert b"Sign out" in page.data


def test_unknown_language_is_404(client):
    assert client.post("/lang/xx").status_code == 404


def test_me_with_bearer(client, db):
    make_world(db)
    me = client.get("/api/v1/me", headers=bearer(client, "dispatcher")).get_json()
    assert me["role"] == "dispatcher"
