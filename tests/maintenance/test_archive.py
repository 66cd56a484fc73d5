"""The terminal archive: parts counted from the stock ledger, work-order links, charts
(failures per month, parts used, time to restore) in the reader's language."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from dispatch.models import WorkOrder
from inventory.models import StockMove
from maintenance import views
from tests.builders.maintenance import NOW, make_repair_history, utc
from tests.builders.people import login


@pytest.fixture
def archive(db, monkeypatch):
    monkeypatch.setattr(views, "utcnow", lambda: NOW)
    w = make_repair_history(db)
    wo1 = db.exec(select(WorkOrder).where(WorkOrder.number == "WO-T1")).one()
    wo2 = db.exec(select(WorkOrder).where(WorkOrder.number == "WO-T2")).one()
    wo1.resolution_code = "replaced_part"  # a part replaced, none taken out of stock
    wo2.resolution_code = "replaced_part"
    db.add(StockMove(kind="consume", part_id=w.part.id, location_id=w.van.id, on_hand_delta=-2,
                     work_order_id=wo2.id, at=utc(10, 22, 11)))
    db.commit()
    return w, wo1, wo2


def test_parts_come_from_the_ledger_and_a_replacement_without_one_is_called_out(client, archive):
    w, _wo1, _wo2 = archive
    login(client, "agent")
    html = client.get(f"/maintenance/terminals/{w.terminal.serial}").get_data(as_text=True)
    assert 'data-testid="parts">2</strong> parts used' in html
    # Why: the archive said "0 parts used" beside "replaced_part" outcomes without a word
    assert ('data-testid="replaced-unrecorded">1 “replaced a part” outcomes have no part '
            'recorded in stock') in html
    outcomes = re.findall(r'<li class="card" data-kind="outcome">(.*?)</li>', html, re.DOTALL)
    assert len(outcomes) == 2
    t2, t1 = outcomes  # newest first
    assert "WO-T2" in t2 and "parts: 2 × CR-PAX" in t2 and "no part recorded" not in t2
    assert "WO-T1" in t1 and 'data-testid="no-part-recorded">no part recorded in stock' in t1


def test_work_order_numbers_in_the_archive_link_to_the_work_order(client, archive):
    w, wo1, wo2 = archive
    login(client, "agent")
    html = client.get(f"/maintenance/terminals/{w.terminal.serial}").get_data(as_text=True)
    links = re.findall(r'<a href="/work-orders/(\d+)" data-testid="wo-link">(WO-T\d)</a>', html)
    assert (str(wo1.id), "WO-T1") in links and (str(wo2.id), "WO-T2") in links
    # every kind of entry that names a work order links it: fault, work order, visit, part, outcome
    assert links.count((str(wo1.id), "WO-T1")) == 4  # fault, work order, visit, outcome
    assert links.count((str(wo2.id), "WO-T2")) == 4  # fault, work order, part, outcome
    assert client.get(f"/work-orders/{wo1.id}").status_code == 200


def test_archive_charts_failures_per_month_parts_and_time_to_restore(client, archive):
    w, wo1, _wo2 = archive
    login(client, "agent")
    html = client.get(f"/maintenance/terminals/{w.terminal.serial}").get_data(as_text=True)
    for chart in ("chart-failures", "chart-parts", "chart-restore"):
        assert f'data-testid="{chart}"' in html
    failures = html.split('data-testid="chart-failures"')[1].split("</svg>")[0]
    assert failures.count("<rect") == 12  # the last twelve months, empty ones too
    assert "<title>Oct 2026: 2</title>" in failures and "<title>Sep 2026: 0</title>" in failures
    parts = html.split('data-testid="chart-parts"')[1].split("</svg>")[0]
    assert "<title>Card reader module (PAX) (CR-PAX): 2</title>" in parts
    restore = html.split('data-testid="chart-restore"')[1].split("</svg>")[0]
    # from the fault report to completion: 24 h and 60 h
    assert "<title>WO-T1: 24 h</title>" in restore and "<title>WO-T2: 60 h</title>" in restore
    assert f'<a href="/work-orders/{wo1.id}">' in restore


def test_archive_charts_in_chinese(client, archive):
    w, _wo1, _wo2 = archive
    login(client, "agent")
    client.post("/lang/zh")
    html = client.get(f"/maintenance/terminals/{w.terminal.serial}").get_data(as_text=True)
    assert "<title>2026年10月: 2</title>" in html
    assert "<title>WO-T1: 24 小时</title>" in html
    assert "每月故障" in html and "恢复用时" in html
    assert "1 个“更换部件”结果在库存中没有记录部件" in html
