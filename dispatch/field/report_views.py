"""The service report's pages and API: the printable report for staff (and the
technician who did the work), the merchant's copy behind a signed, expiring link, the
sign-off as JSON. Thin: the report is built in `dispatch.field.service_report`."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, send_file
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import openapi
from core.api import api_v1
from core.auth import STAFF, roles_required
from core.db import get_session
from core.errors import DomainError, NotFound
from core.models import Role
from dispatch.desk.api import ensure_may_see_work_order, upload_dir
from dispatch.field import service_report as rep
from dispatch.workorders.service import get_work_order

bp = Blueprint("service_report", __name__)
REPORT_ROLES = (*STAFF, Role.TECHNICIAN)


def _visible_work_order(work_order_id: int):
    session = get_session()
    wo = get_work_order(session, work_order_id)
    ensure_may_see_work_order(session, current_user, wo)
    return session, wo


@bp.get("/work-orders/<int:work_order_id>/report")
@roles_required(*REPORT_ROLES)
def report_page(work_order_id: int):
    session, wo = _visible_work_order(work_order_id)
    return render_template("dispatch/service_report.html", report=rep.service_report(session, wo),
                           public=False, token=None)


@bp.get("/r/<token>")
def public_report(token: str):
    """The merchant's copy: no account, the link is the key. Not cached anywhere."""
    session = get_session()
    wo = rep.work_order_for_token(session, token)
    resp = render_template("dispatch/service_report.html", report=rep.service_report(session, wo),
                           public=True, token=token)
    return resp, 200, {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}


@bp.get("/r/<token>/photos/<int:attachment_id>")
def public_photo(token: str, attachment_id: int):
    session = get_session()
    wo = rep.work_order_for_token(session, token)
    att = rep.photo_of_report(session, wo, attachment_id)
    from dispatch.workorders import attachments as att_svc

    try:
        path = att_svc.attachment_path(upload_dir(), att)
    except DomainError:
        raise NotFound(_l("no such photo in this report")) from None
    resp = send_file(path, mimetype=att.content_type, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return resp


@api_v1.get("/work-orders/<int:work_order_id>/report")
@roles_required(*REPORT_ROLES)
def api_work_order_report(work_order_id: int):
    session, wo = _visible_work_order(work_order_id)
    return jsonify(rep.service_report(session, wo))


@api_v1.get("/work-orders/<int:work_order_id>/signoff")
@roles_required(*REPORT_ROLES)
def api_work_order_signoff(work_order_id: int):
    session, wo = _visible_work_order(work_order_id)
    from dispatch.field.signoff import signature_data_url, signoff_view

    row = rep.signoff_for(session, wo)
    if row is None:
        raise NotFound(_l("this work order has no sign-off yet"), field="work_order_id")
    return jsonify({**signoff_view(row), "signature": signature_data_url(row)})


_WO = [openapi.path_param("work_order_id")]
openapi.document("/api/v1/work-orders/{work_order_id}/report", "get", tag="work orders",
                 summary="The service report: resolution, parts used with serials, photos, "
                         "sign-off, times on site, rating",
                 parameters=_WO, errors=(401, 403, 404))
openapi.document("/api/v1/work-orders/{work_order_id}/signoff", "get", tag="work orders",
                 summary="The merchant's sign-off (signature as a PNG data URL, printed name, "
                         "or why there is none)",
                 parameters=_WO, errors=(401, 403, 404))


def init_report(app) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _report_helpers():
        return {"service_report_of": lambda wo: rep.service_report(get_session(), wo),
                "report_link_of": rep.report_link}


__all__ = ["bp", "init_report"]
