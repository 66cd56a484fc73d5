"""The demo world is what newcomers see first: it must be complete and consistent."""
from datetime import UTC, date
from itertools import pairwise

import phonenumbers
import pytest
from sqlmodel import Session, select

from core.models import Region, User
from demo.world import DEMO_PASSWORD, build_demo_world
from dispatch.models import Merchant, Shift, Technician, Terminal, TerminalModel, WorkOrder
from inventory.models import StockLevel, StockMove


@pytest.fixture(scope="module")
def demo(_app):
    """Built once for the module (it takes seconds); the tests only read it."""
    from tests.conftest import _wipe

    engine = _app.extensions["fixroute.engine"]
    with Session(engine) as session:
        summary = build_demo_world(session, seed=7, today=date(2026, 11, 24))
    with Session(engine) as session:
        yield summary, session
    _wipe(engine)


def test_demo_world_has_the_promised_size(demo):
    summary, _ = demo
    assert summary["regions"] >= 3
    assert summary["merchants"] >= 400
    assert summary["terminals"] >= 600
    assert summary["technicians"] >= 25
    assert summary["depots"] >= 3
    assert summary["closed_work_orders"] > 100
    assert summary["open_work_orders"] > 20


def test_every_terminal_belongs_to_a_known_model(demo):
    _, s = demo
    model_ids = {m.id for m in s.exec(select(TerminalModel))}
    assert len(model_ids) >= 4
    assert all(t.model_id in model_ids for t in s.exec(select(Terminal)))


def test_every_merchant_has_a_valid_e164_phone_and_sits_in_its_region(demo):
    _, s = demo
    regions = {r.id: r for r in s.exec(select(Region))}
    for m in s.exec(select(Merchant)):
        number = phonenumbers.parse(m.phone)
        assert phonenumbers.is_valid_number(number), m.phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == m.phone
        r = regions[m.region_id]
        assert r.min_lat <= m.lat <= r.max_lat and r.min_lon <= m.lon <= r.max_lon
        assert m.opening_hours, m.code


def test_demo_logins_exist_for_every_role_and_technician(demo):
    _, s = demo
    from werkzeug.security import check_password_hash

    users = {u.username: u for u in s.exec(select(User))}
    techs = s.exec(select(Technician)).all()
    names = ["admin", "dispatcher", "agent"] + [f"tech{i:02d}" for i in range(1, len(techs) + 1)]
    for name in names:
        assert name in users and users[name].is_demo
    # one shared hash (hashing is deliberately slow); check it once, then that all share it
    assert check_password_hash(users["admin"].password_hash, DEMO_PASSWORD)
    assert {users[n].password_hash for n in names} == {users["admin"].password_hash}
    assert all(users[t.code].technician_id == t.id for t in techs)


def test_stock_levels_equal_the_ledger(demo):
    _, s = demo
    sums = {}
    for mv in s.exec(select(StockMove)):
        key = (mv.location_id, mv.part_id)
        sums[key] = sums.get(key, 0) + mv.on_hand_delta
    for lvl in s.exec(select(StockLevel)):
        assert sums[(lvl.location_id, lvl.part_id)] == lvl.on_hand


def test_demo_is_deterministic(tmp_path):
    from core.db import make_engine, metadata

    def snapshot(url):
        e = make_engine(url)
        metadata.create_all(e)
        with Session(e) as s:
            build_demo_world(s, seed=3, today=date(2026, 11, 24), merchants_per_region=20,
                             technicians_per_region=2, history_days=2)
            out = ([(m.name, m.phone, m.lat) for m in s.exec(select(Merchant).order_by(Merchant.id))],
                   [(w.number, w.title) for w in s.exec(select(WorkOrder).order_by(WorkOrder.id))])
        e.dispose()
        return out

    assert snapshot(f"sqlite:///{tmp_path}/a.db") == snapshot(f"sqlite:///{tmp_path}/b.db")


def test_technicians_have_shifts_on_the_demo_day(demo):
    _, s = demo
    on_shift = s.exec(select(Shift).where(Shift.day == date(2026, 11, 24))).all()
    assert len(on_shift) >= 20
    assert all(sh.end_at > sh.start_at for sh in on_shift)


def test_demo_history_has_follow_ups_through_legal_transitions(demo):
    """The analytics page must not show a 100 % first-time-fix rate on the demo."""
    from datetime import datetime

    from dispatch.models import WorkOrderEvent
    from dispatch.workorders.service import ALLOWED_TRANSITIONS
    from maintenance.analytics import first_time_fix

    _, s = demo
    rows = {r["model"]: r for r in first_time_fix(s, datetime(2026, 10, 1, tzinfo=UTC),
                                                          datetime(2026, 11, 25, tzinfo=UTC))}
    overall = rows["all"]
    assert overall["completed"] > 100
    assert 0 < overall["first_time_fixed"] < overall["completed"]
    events: dict[int, list] = {}
    for ev in s.exec(select(WorkOrderEvent).order_by(WorkOrderEvent.work_order_id, WorkOrderEvent.at,
                                                      WorkOrderEvent.id)):
        events.setdefault(ev.work_order_id, []).append(ev)
    followed = 0
    for wo in s.exec(select(WorkOrder).where(WorkOrder.status == "completed")):
        chain = events.get(wo.id, [])
        if not chain:
            continue
        for a, b in pairwise(chain):
            assert b.from_status == a.to_status, (
                wo.number, [(e.from_status, e.to_status, str(e.at), e.action) for e in chain])
            assert b.to_status in ALLOWED_TRANSITIONS[b.from_status], (wo.number, b.from_status, b.to_status)
        assert chain[-1].to_status == "completed" and chain[-1].at == wo.completed_at
        followed += any(e.to_status == "needs_follow_up" for e in chain)
    assert followed == overall["completed"] - overall["first_time_fixed"]


def test_a_part_named_for_a_model_fits_only_that_model():
    """The Bring list of a Verifone V200c job offered the Ingenico 'Display assembly
    Move/5000': the demo catalog said it fitted the V200c."""
    from demo.world import MODELS, PARTS

    names = {code: name for code, _vendor, name, *_ in MODELS}
    for sku, name, *_rest, fits in PARTS:
        named = {code for code, model_name in names.items()
                 if model_name.split()[0] in name}
        if named:
            assert set(fits) <= named, f"{sku} ({name}) fits {fits}"


def test_every_replaced_part_in_the_history_is_in_the_ledger(demo):
    """The terminal archive read '0 parts used' beside 'replaced_part' outcomes: the
    demo's past repairs never recorded the parts they used."""
    _summary, demo = demo
    replaced = demo.exec(
        select(WorkOrder).where(WorkOrder.resolution_code == "replaced_part")).all()
    assert replaced
    consumed = {m.work_order_id
                for m in demo.exec(select(StockMove).where(StockMove.kind == "consume"))}
    assert {wo.id for wo in replaced} <= consumed
