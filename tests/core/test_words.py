"""The vocabulary layer (core.words) and the work-order text the system writes as data
(issue 20, points 1-2)."""
from __future__ import annotations

from datetime import timedelta
from functools import partial

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlmodel import select

from core import words
from core.timeutil import utcnow
from dispatch.backup import service as backup
from dispatch.desk import service as fault_svc
from dispatch.models import WorkOrder, WorkOrderEvent
from dispatch.words import event_note, work_order_description
from tests.builders.people import login
from tests.builders.workorders import make_repair
from tests.builders.world import make_world
from tests.core.test_words_in_chinese import raw_codes, visible


def test_word_says_a_code_in_the_readers_language_and_shows_an_unknown_code(app):
    with app.test_request_context():
        with force_locale("zh"):
            assert words.word("work_order_status", "needs_follow_up") == "需跟进"
            assert words.word("skill", "card_reader") == "读卡器 / 卡槽"
            assert words.word("fault_category", "net_module") != "net_module"
            assert words.word("sms_status", "dev_delivered") == "已送到开发测试手机"
            # unknown: the code itself, visible, never an empty cell
            assert words.word("skill", "teleportation") == "teleportation"
            assert words.word("skill", None) == "" and words.word("sms_handled_as", "", "-") == "-"
        with force_locale("en"):
            assert words.word("resolution_code", "replaced_part") == "Replaced a part"
            assert words.words("skill", ["hardware", "smart_pos"]) == \
                "Hardware repair, Smart (Android) terminals"


def test_a_package_registers_and_extends_a_vocabulary(app):
    words.register("test_colour", {"red": _l("Red")})
    words.register("test_colour", lambda: {"blue": _l("Blue")})
    try:
        with app.test_request_context():
            assert words.vocabulary("test_colour") == {"red": "Red", "blue": "Blue"}
            assert words.has_word("test_colour", "blue")
            assert not words.has_word("test_colour", "pink")
        assert words.codes()["test_colour"] == {"red", "blue"}
    finally:  # the other tests see the app's vocabularies only
        words._VOCABULARIES.pop("test_colour", None)


def test_every_vocabulary_has_chinese_for_every_code(app):
    """A label without a translation would leave English on a Chinese page."""
    with app.test_request_context():
        for kind in words.kinds():
            if kind == "locale":
                continue
            with force_locale("en"):
                english = words.vocabulary(kind)
            with force_locale("zh"):
                chinese = words.vocabulary(kind)
            for code, label in english.items():
                if label:
                    assert chinese[code] != label or not label.isascii(), (kind, code, label)


def test_a_sentence_with_an_unknown_code_keeps_the_stored_english(app):
    with app.test_request_context(), force_locale("zh"):
        assert words.sentence("event_note", "no_such_code", {}, default="as written") == "as written"
        assert words.sentence("backup_eligibility", "over", {"h": 41.0}) == "预计 41.0 小时后修复。"


_escalated = partial(make_repair, symptoms="reads no card", error_code="E-17", note="merchant waits",
                     checks=[("restart", "not_fixed", ""), ("clean_card_slot", "skipped", "")])


def test_the_escalation_text_is_kept_as_data_and_said_in_the_readers_language(app, client, db):
    w = make_world(db)
    wo = _escalated(db, w)
    # the API and the audit keep the English as it always was
    assert "Remote checks: restart=not_fixed, clean_card_slot=skipped" in wo.description
    created = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                   WorkOrderEvent.action == "created")).one()
    assert created.data["description"] == {
        "symptoms": "reads no card", "error_code": "E-17", "note": "merchant waits",
        "checks": [["restart", "not_fixed"], ["clean_card_slot", "skipped"]]}
    with app.test_request_context():
        with force_locale("en"):
            assert work_order_description(wo, [created]) == (
                "reads no card\nError code: E-17\nRemote checks: Restart the terminal (hold power "
                "10 s): Did not help, Clean the card slot and try another card: Skipped\n"
                "merchant waits")
        with force_locale("zh"):
            said = work_order_description(wo, [created])
    assert said.startswith("reads no card\n错误代码：E-17\n远程检查：") and "未解决" in said
    login(client, "dispatcher")
    client.post("/lang/zh")
    page = client.get(f"/work-orders/{wo.id}").get_data(as_text=True)
    text = visible(page).text
    assert "远程检查" in text and "not_fixed" not in text and "Remote checks" not in text


def test_a_backup_eligibility_on_the_timeline_is_said_in_chinese(app, client, db):
    w = make_world(db)
    w.merchant.sla_tier = "gold"
    db.add(w.merchant)
    db.commit()
    wo = WorkOrder(number="WO-T0001", region_id=w.region.id, merchant_id=w.merchant.id,
                   terminal_id=w.terminal.id, severity="down", status="ready",
                   sla_due_at=utcnow() + timedelta(hours=41, minutes=2))
    db.add(wo)
    db.commit()
    backup.evaluate(db, wo.id)
    event = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                 WorkOrderEvent.action == "backup_eligible")).one()
    assert event.note.startswith("restoration expected in 41.0 h")  # English for the audit
    assert event.data["say"] == {"kind": "backup_eligibility", "code": "over",
                                 "params": {"h": 41.0}}
    with app.test_request_context(), force_locale("zh"):
        assert event_note(event) == "预计 41.0 小时后修复。"
    login(client, "dispatcher")
    client.post("/lang/zh")
    text = visible(client.get(f"/work-orders/{wo.id}").get_data(as_text=True)).text
    assert "预计 41.0 小时后修复" in text and "restoration expected" not in text
    assert not raw_codes(text, words.codes())


def test_an_old_event_without_data_still_reads(app):
    event = WorkOrderEvent(work_order_id=1, action="note", note="typed by a person", data={})
    with app.test_request_context(), force_locale("zh"):
        assert event_note(event) == "typed by a person"


def test_a_constant_code_in_a_template_follows_each_readers_language(app):
    """Jinja folds constant filter calls into the compiled template: the first reader's
    language must not stay for everyone (it did for `'repair'|word(...)`)."""
    with app.test_request_context():
        with force_locale("en"):
            template = app.jinja_env.from_string("{{ 'repair'|word('work_order_kind') }}")
            assert template.render() == "Repair"
        with force_locale("zh"):
            assert template.render() == "维修"


def test_a_report_joining_an_open_repair_leaves_its_description_alone(app, db):
    from dispatch.workorders.service import create_work_order

    w = make_world(db)
    first = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                              priority="normal", severity="degraded", title="",
                              description="typed by the dispatcher", required_skills=["hardware"],
                              predicted_parts=[], service_minutes=30, actor=w.users["dispatcher"])
    joined = _escalated(db, w)
    assert joined.id == first.id
    events = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == first.id)).all()
    with app.test_request_context(), force_locale("en"):
        assert work_order_description(joined, events) == "typed by the dispatcher"


def test_a_catalog_phrase_kept_as_symptoms_is_said_in_the_readers_language(app, client, db):
    """The demo keeps a category's name as a fault's symptoms ('Battery does not hold
    charge'); a Chinese reader saw it in English on the fault and the work order."""
    from tests.builders.people import login
    from tests.builders.world import make_world

    w = make_world(db)
    fault = fault_svc.create_fault(db, merchant=w.merchant, terminal=w.terminal,
                                   category="hw_battery", symptoms="Battery does not hold charge")
    login(client, "agent")
    client.post("/lang/zh")
    page = client.get(f"/desk/faults/{fault.id}").get_data(as_text=True)
    assert "Battery does not hold charge" not in page and "电池不蓄电" in page
    own = fault_svc.create_fault(db, merchant=w.merchant, terminal=w.terminal,
                                 category="hw_battery", symptoms="dies after 10 minutes")
    assert "dies after 10 minutes" in client.get(f"/desk/faults/{own.id}").get_data(as_text=True)
