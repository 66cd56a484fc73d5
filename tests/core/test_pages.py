"""Every list pages one way (core.api): a query through `paginate`, rows already in
memory through `paginate_list`, with the same bounds and the same answer."""
from __future__ import annotations

from sqlmodel import select

from core.api import MAX_PAGE, Page, paginate, paginate_list
from core.audit import record_audit
from core.models import AuditEvent
from tests.builders.people import login
from tests.builders.world import make_world


def test_rows_in_memory_page_as_the_same_query_does(db):
    for i in range(5):
        record_audit(db, "thing", i, "made")
    db.commit()
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    rows = list(db.exec(stmt).all())
    for number in (1, 2, 3, 4):
        page = Page(page=number, per_page=2)
        in_db = paginate(db, stmt, page, lambda e: e.entity_id)
        assert paginate_list(rows, page, lambda e: e.entity_id) == in_db
        assert in_db["total"] == 5 and in_db["pages"] == 3
    assert paginate_list(rows, Page(page=3, per_page=2), lambda e: e.entity_id)["items"] == ["4"]


def test_the_work_order_list_page_reads_an_out_of_bounds_page_as_the_bound(client, db):
    make_world(db)
    login(client, "dispatcher")
    for page in ("0", "-3", "abc", str(MAX_PAGE * 10), str(10**30)):
        assert client.get(f"/work-orders?page={page}").status_code == 200, page
