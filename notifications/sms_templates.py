"""The SMS a merchant receives, in English and Simplified Chinese.

Bodies are kept here rather than in the Babel catalog: they go to a merchant in the
merchant's locale (not the signed-in user's), each character costs money, and the
template page shows their segment count. English stays inside GSM-7 (no curly quotes,
no dashes outside the table) so it costs 1 segment per 160 characters; Chinese is UCS-2
and the common notices stay within 70 characters (one segment) with typical values.

`render(name, locale, context)` fills the named placeholders; a missing value raises
InvalidInput naming `context.<key>`."""
from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from core.errors import InvalidInput
from notifications.segments import SegmentInfo, count_segments

LOCALES = ("en", "zh")


@dataclass(frozen=True)
class SmsTemplate:
    name: str
    label: object  # lazy string for the template page
    bodies: dict[str, str]
    sample: dict[str, str]
    common: bool = True  # a frequent notice: must stay one segment with the sample values


TEMPLATES: dict[str, SmsTemplate] = {
    t.name: t
    for t in [
        SmsTemplate(
            "fault_received", _l("Fault received"),
            {"en": "FixRoute: we received your terminal fault report (ref {ref}). "
                   "We will text you when a technician is assigned. Reply STOP to opt out.",
             "zh": "【FixRoute】已收到您的终端报修，单号{ref}。派定技术员后将短信通知您。回复退订可停止接收。"},
            {"ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "technician_assigned", _l("Technician assigned, with arrival window"),
            {"en": "FixRoute: technician {technician} will visit on {date} between {start} and "
                   "{end} (ref {ref}).",
             "zh": "【FixRoute】技术员{technician}将于{date} {start}-{end}上门服务，单号{ref}。"},
            {"technician": "Li Wei", "date": "24 Nov", "start": "14:00", "end": "15:00",
             "ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "technician_on_the_way", _l("Technician on the way"),
            {"en": "FixRoute: technician {technician} is on the way, arriving around {eta} "
                   "(ref {ref}).",
             "zh": "【FixRoute】技术员{technician}已出发，预计{eta}到达，单号{ref}。"},
            {"technician": "Li Wei", "eta": "14:20", "ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "visit_done", _l("Visit done, with the 1-5 survey question"),
            {"en": "FixRoute: the visit for ref {ref} is complete, thank you! How did we do? "
                   "Reply 1 (poor) to 5 (excellent).",
             "zh": "【FixRoute】单号{ref}的上门服务已完成，感谢配合！请回复1(差)到5(很好)为本次服务打分。"},
            {"ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "visit_done_report", _l("Visit done, with the service report link and the survey"),
            {"en": "FixRoute: the visit for ref {ref} is complete, thank you! Service report: "
                   "{link} How did we do? Reply 1 (poor) to 5 (excellent).",
             "zh": "【FixRoute】单号{ref}的上门服务已完成，感谢配合！服务报告：{link} "
                   "请回复1(差)到5(很好)为本次服务打分。"},
            {"ref": "WO-2611-0042",
             "link": "https://fixroute.example/r/NDI0Mg.aSh0qQ.kDq3T2bM1ZxV9wQ8hYc4LrN7pAe"},
            common=False,  # the link makes it two segments; it replaces an app and a login
        ),
        SmsTemplate(
            "backup_offer", _l("Backup terminal offer"),
            {"en": "FixRoute: the repair of your terminal (ref {ref}) may take a while. "
                   "Would you like a backup terminal meanwhile? Reply YES or NO.",
             "zh": "【FixRoute】您的终端维修(单号{ref})需要一些时间，是否需要备用终端？请回复YES或NO。"},
            {"ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "backup_confirmed", _l("Backup terminal confirmation"),
            {"en": "FixRoute: confirmed, we will bring you a backup terminal (ref {ref}).",
             "zh": "【FixRoute】已确认，我们将为您送来备用终端，单号{ref}。"},
            {"ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "pm_reminder", _l("Day-before reminder for a preventive visit"),
            {"en": "FixRoute: reminder, preventive maintenance of your terminal tomorrow "
                   "{date}, {start}-{end} (ref {ref}).",
             "zh": "【FixRoute】提醒：明天{date} {start}-{end}将上门为您的终端做例行保养，单号{ref}。"},
            {"date": "25 Nov", "start": "10:00", "end": "12:00", "ref": "WO-2611-0043"},
        ),
        SmsTemplate(
            "survey", _l("Satisfaction survey"),
            {"en": "FixRoute: how was our visit (ref {ref})? Reply a number from 1 (poor) to "
                   "5 (excellent).",
             "zh": "【FixRoute】请为本次服务(单号{ref})打分，回复1(差)到5(很好)。"},
            {"ref": "WO-2611-0042"},
        ),
        SmsTemplate(
            "help", _l("Help answer"),
            {"en": "FixRoute terminal service: reply to this number or call your service desk. "
                   "Reply STOP to opt out, START to resume.",
             "zh": "【FixRoute】终端服务：直接回复本号码或致电客服。回复退订停止接收，回复START恢复。"},
            {},
        ),
    ]
}


def normalize_locale(locale: str | None) -> str:
    """'zh', 'zh-CN', 'zh_Hans' -> 'zh'; anything else -> 'en'."""
    value = (locale or "").strip().lower().replace("_", "-")
    return "zh" if value.split("-")[0] == "zh" else "en"


def placeholders(body: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(body) if f]


def render(name: str, locale: str, context: dict) -> str:
    template = TEMPLATES.get(name)
    if template is None:
        raise InvalidInput(_l("unknown SMS template %(name)s", name=repr(name)),
                           field="template")
    body = template.bodies[normalize_locale(locale)]
    values = {}
    for key in placeholders(body):
        value = context.get(key)
        if value is None or str(value).strip() == "":
            raise InvalidInput(_l("template %(name)s needs a value for %(key)s",
                                  name=name, key=key), field=f"context.{key}")
        values[key] = str(value).strip()
    return body.format(**values)


def render_sample(name: str, locale: str) -> tuple[str, SegmentInfo]:
    body = render(name, locale, TEMPLATES[name].sample)
    return body, count_segments(body)


def format_day(value: datetime, tz: str, locale: str) -> str:
    local = value.astimezone(ZoneInfo(tz))
    if normalize_locale(locale) == "zh":
        return f"{local.month}月{local.day}日"
    return f"{local.day} {local.strftime('%b')}"


def format_time(value: datetime, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def window_context(start: datetime, end: datetime, tz: str, locale: str) -> dict[str, str]:
    """date/start/end placeholders for an arrival window, in the region's time zone."""
    return {"date": format_day(start, tz, locale), "start": format_time(start, tz),
            "end": format_time(end, tz)}
