"""A small local fake of Twilio's REST API (Messages), for driving the real twilio-python
client in tests. Implements, per ../shared/vendor-specs/twilio_api_v2010.json:

- POST /2010-04-01/Accounts/{AccountSid}/Messages.json  (form: To, From or
  MessagingServiceSid, Body, StatusCallback, ...) -> 201 with a message resource
- GET  /2010-04-01/Accounts/{AccountSid}/Messages.json?To=... -> the list page

It checks HTTP basic auth against the account SID and token, records every request,
and answers from a script: `fake.script(201, 429, 500, 400)` makes the next POSTs
answer in that order (then 201 again). Error bodies follow Twilio's shape
{"code", "message", "more_info", "status"}. A scripted answer can carry headers,
e.g. `fake.script((429, None, {"Retry-After": "120"}))`: the spec documents only the
201, but Twilio's 429 (error 20429) and 503 answers may say when to come back. Every
answer has a `Date` header (http.server adds it), as Twilio's do."""
from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

_SPEC = Path("vendor-specs") / "twilio_api_v2010.json"


def _find_spec() -> Path:
    """Twilio's published spec in the shared folder beside the project (../shared), or
    where FIXROUTE_SHARED_DIR says when the checkout lives elsewhere (a clean clone in a
    temporary directory, say)."""
    beside = Path(__file__).resolve().parents[2].parent / "shared"
    folders = [Path(os.environ["FIXROUTE_SHARED_DIR"])] if os.environ.get("FIXROUTE_SHARED_DIR") else []
    folders.append(beside)
    return next((d / _SPEC for d in folders if (d / _SPEC).exists()), beside / _SPEC)


SPEC_PATH = _find_spec()
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"

ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    query: dict[str, str]
    status: int


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    requests: list[Recorded] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    _script: list[tuple[int, int | None, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test controls ---------------------------------------------------------------
    def script(self, *statuses: int | tuple) -> None:
        """Answer the next POSTs with these statuses: `429`, `(400, 21211)` (a Twilio
        error code) or `(429, None, {"Retry-After": "120"})` (extra response headers)."""
        with self._lock:
            for s in statuses:
                status, code, headers = (*s, None, None)[:3] if isinstance(s, tuple) else (s, None, None)
                self._script.append((status, code, dict(headers or {})))

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def accepted(self) -> list[dict]:
        return list(self.messages)

    # -- server ----------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self) -> str | None:
                parts = urlparse(self.path).path.split("/")
                # ['', '2010-04-01', 'Accounts', '{sid}', 'Messages.json']
                if len(parts) == 5 and parts[1] == "2010-04-01" and parts[2] == "Accounts" \
                        and parts[4] == "Messages.json":
                    return parts[3]
                return None

            def _authorised(self, sid: str) -> bool:
                header = self.headers.get("Authorization", "")
                expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                return sid == fake.account_sid and header == f"Basic {expected}"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0) or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                sid = self._route()
                status, payload, headers = fake._create(sid, form, self._authorised(sid or ""))
                fake.requests.append(Recorded("POST", self.path, form, {}, status))
                self._send(status, payload, headers)

            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                sid = self._route()
                if sid is None:
                    status, payload = 404, _error(404, 20404, "The requested resource was not found")
                elif not self._authorised(sid):
                    status, payload = 401, _error(401, 20003, "Authenticate")
                else:
                    status, payload = 200, fake._list(sid, query)
                fake.requests.append(Recorded("GET", self.path, {}, query, status))
                self._send(status, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- behaviour -------------------------------------------------------------------
    def _create(self, sid: str | None, form: dict, authorised: bool) -> tuple[int, dict, dict]:
        """(HTTP status, JSON body, extra response headers) for one POST."""
        if sid is None:
            return 404, _error(404, 20404, "The requested resource was not found"), {}
        if not authorised:
            return 401, _error(401, 20003, "Authenticate"), {}
        with self._lock:
            status, code, headers = self._script.pop(0) if self._script else (201, None, {})
        if status != 201:
            default_code, message = ERRORS.get(status, (20000 + status, "Error"))
            return status, _error(status, code or default_code, message), headers
        missing = [p for p in ("To", "Body") if not form.get(p)]
        if not (form.get("From") or form.get("MessagingServiceSid")):
            missing.append("From")
        if missing:
            return 400, _error(400, 21604 if "To" in missing else 21602,
                               f"A '{missing[0]}' parameter is required."), {}
        now = format_datetime(datetime.now(UTC))
        message = {
            "account_sid": sid, "api_version": "2010-04-01", "body": form["Body"],
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": None,
            "sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/x.json", "subresource_uris": {},
            "_status_callback": form.get("StatusCallback"),
        }
        message["uri"] = f"/2010-04-01/Accounts/{sid}/Messages/{message['sid']}.json"
        with self._lock:
            self.messages.append(message)
        return 201, {k: v for k, v in message.items() if not k.startswith("_")}, headers

    def _list(self, sid: str, query: dict) -> dict:
        with self._lock:
            items = [m for m in reversed(self.messages)
                     if m["account_sid"] == sid and (not query.get("To") or m["to"] == query["To"])]
        size = int(query.get("PageSize", 50))
        items = items[:size]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        return {
            "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in items],
            "end": max(len(items) - 1, 0), "first_page_uri": uri, "next_page_uri": None,
            "page": 0, "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri,
        }


def _error(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
