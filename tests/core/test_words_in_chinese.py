"""Every page in Chinese says the domain's words in Chinese: no registered enum code
(a status, a kind, a skill, a fault category ...) is left raw in the visible text.

Signs in as dispatcher, agent, admin and technician, switches to Chinese, renders every
page of the top navigation, the pages they link to, and the detail pages (a work
order, a fault, a merchant card, a terminal's archive, backups, the board of a day
with a plan, the phone's day and visit, the SMS outbox and phone, analytics, stock),
in a world where every vocabulary has something to show."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale

from core import words
from tests.builders.people import login
from tests.builders.words import make_words_world

SKIP_TAGS = {"script", "style", "template", "code"}


class _Visible(HTMLParser):
    """The text a reader sees (no tags, attributes, scripts or styles) and the links.
    Text marked as written in another language (``lang="en"`` on an SMS sent to an
    English-speaking merchant) is not the page's words and is left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.nav_links: list[str] = []
        self._skip = 0
        self._nav = 0
        self._other_lang: tuple[str, int] | None = None  # (tag, depth) of a lang="en" element

    def handle_starttag(self, tag, attrs):
        lang = dict(attrs).get("lang")
        if self._other_lang is None and lang and not lang.startswith("zh"):
            self._other_lang = (tag, 0)
        if self._other_lang and self._other_lang[0] == tag:
            self._other_lang = (tag, self._other_lang[1] + 1)
        if tag in SKIP_TAGS:
            self._skip += 1
        if tag == "nav":
            self._nav += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
                if self._nav:
                    self.nav_links.append(href)
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if self._other_lang and self._other_lang[0] == tag:
            depth = self._other_lang[1] - 1
            self._other_lang = (tag, depth) if depth else None
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag == "nav" and self._nav:
            self._nav -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip and self._other_lang is None:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts))


def visible(html: str) -> _Visible:
    v = _Visible()
    v.feed(html)
    return v


def raw_codes(text: str, codes: dict[str, set[str]]) -> set[str]:
    """Registered codes shown as they are, each with the text around it: any word with
    an underscore, and plain words that are a code, as a whole lower-case word (codes
    are lower case; "Van" in a name is not the code "van")."""
    found = set()
    every = set().union(*codes.values())

    def around(m: re.Match) -> str:
        return f"{m.group(0)} «…{text[max(0, m.start() - 40):m.end() + 20]}…»"

    for m in re.finditer(r"(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])", text):
        found.add(around(m))  # an underscore word is a code, registered or not
    for code in every:
        m = re.search(rf"(?<![\w'-]){re.escape(code)}(?![\w'-])", text)
        if "_" not in code and m:
            found.add(around(m))
    return found


# Vocabularies the world must show on some page (in Chinese).
SHOWN = ("work_order_status", "fault_status", "priority", "work_order_kind", "severity",
         "skill", "fault_category", "fault_group", "triage_step", "triage_outcome", "channel",
         "sla_tier", "event_action", "day", "backup_status", "backup_where", "terminal_status",
         "visit_status", "resolution_code", "not_done_reason", "unassigned_reason", "part_kind",
         "move_kind", "sms_status", "sms_template", "sms_handled_as", "pm_checklist",
         "pm_outcome", "analytics_row", "event_note", "backup_eligibility", "description_line")

# Links that are not pages to read (files, actions, other languages).
SKIP_LINK = re.compile(r"^/(static|logout|lang|attachments)/|\.csv|/export|^/api/|/r/|^/webhooks/")


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(path).path)


def sweep(client, start: list[str], codes, texts: list[str] | None = None
          ) -> tuple[dict[str, set[str]], list[str]]:
    """Render `start` and every same-site page they link to (one of each URL shape),
    return the raw codes per page and the pages seen (their text added to `texts`)."""
    seen_patterns: set[str] = set()
    found: dict[str, set[str]] = {}
    pages: list[str] = []
    queue = [(p, 0) for p in start]
    while queue:
        path, depth = queue.pop(0)
        key = _pattern(path) + ("?" + urlsplit(path).query.split("=")[0] if urlsplit(path).query else "")
        if key in seen_patterns and depth > 0:
            continue
        seen_patterns.add(key)
        resp = client.get(path)
        if resp.status_code in (301, 302, 303):
            queue.append((resp.headers["Location"], depth))
            continue
        if depth > 0 and resp.status_code in (403, 404, 405):
            continue  # a link this role may not follow
        assert resp.status_code == 200, (path, resp.status_code)
        if "html" not in resp.content_type:
            continue
        pages.append(path)
        page = visible(resp.get_data(as_text=True))
        if texts is not None:
            texts.append(page.text)
        hits = raw_codes(page.text, codes)
        if hits:
            found[path] = hits
        if depth < 1:
            for link in page.links:
                u = urlsplit(link)
                if u.netloc or not u.path.startswith("/") or SKIP_LINK.search(u.path):
                    continue
                queue.append((link.split("#")[0], depth + 1))
    return found, pages


@pytest.fixture
def words_world(app, db, tmp_path):
    return make_words_world(db, str(tmp_path))


def _nav(client) -> list[str]:
    page = visible(client.get("/", follow_redirects=True).get_data(as_text=True))
    return [link for link in page.nav_links if not SKIP_LINK.search(link) and link.startswith("/")]


def test_every_page_says_the_domain_words_in_chinese(app, client, db, words_world):
    codes = words.codes()
    ww = words_world
    detail = {
        "dispatcher": [
            f"/work-orders/{ww.escalated.id}", f"/work-orders/{ww.platinum_repair.id}",
            f"/work-orders/{ww.visit_done.work_order_id}",
            f"/work-orders/{ww.not_done_work_order_id}", f"/work-orders/{ww.joined.id}",
            f"/work-orders/{ww.preventive.id}" if ww.preventive else "/work-orders",
            f"/desk/faults/{ww.fault_open}", f"/desk/faults/{ww.fault_resolved}",
            f"/desk/faults/{ww.fault_escalated}", f"/desk/merchants/{ww.world.merchant.id}",
            f"/maintenance/terminals/{ww.world.terminal.serial}", "/backup/", "/backup/pool",
            f"/board?region_id={ww.world.region.id}&day={ww.day.isoformat()}",
            "/sms", "/sms/templates", f"/dev/phone/{ww.world.merchant.phone}",
            "/maintenance/analytics", f"/maintenance/plans/{ww.pm_plan.id}",
            "/inventory/", "/inventory/ledger", "/inventory/reorder",
            "/inventory/restock",
        ],
        "agent": [f"/desk/merchants/{ww.world.merchant.id}", f"/desk/faults/{ww.fault_open}",
                  f"/work-orders/{ww.escalated.id}", "/sms"],
        "admin": ["/admin/", "/maintenance/plans/new", f"/maintenance/plans/{ww.pm_plan.id}/edit"],
        "tech01": ["/tech/", f"/tech/visits/{ww.visit_on_site.id}",
                   f"/tech/visits/{ww.visit_planned.id}", f"/tech/visits/{ww.visit_done.id}"],
    }
    problems: dict[str, set[str]] = {}
    texts: list[str] = []
    rendered = 0
    for user, extra in detail.items():
        client.post("/logout")
        login(client, user)
        assert client.post("/lang/zh").status_code in (302, 303)
        nav = _nav(client)
        assert nav, user
        found, pages = sweep(client, nav + extra, codes, texts)
        rendered += len(pages)
        for path, hits in found.items():
            problems[f"{user} {path}"] = hits
    assert rendered >= 40
    # the world shows every vocabulary the issue names, in Chinese, somewhere
    everything = "\n".join(texts)
    with app.test_request_context(), force_locale("zh"):
        for kind in SHOWN:
            # a sentence shows with its values filled in: look for its longest fixed part
            labels = [max(re.split(r"%\(\w+\)s", label), key=len).strip()
                      for label in words.vocabulary(kind).values() if label]
            assert any(label in everything for label in labels), kind
    assert not problems, "\n".join(f"{k}: {sorted(v)}" for k, v in sorted(problems.items()))
