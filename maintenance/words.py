"""Maintenance's vocabularies (core.words): the preventive checklist, what became of an
occurrence, and the analytics pages' own row names."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.words import register
from maintenance.catalog import PM_CHECKLIST

PM_OUTCOME = {"created": _l("own work order"), "merged": _l("joined an open visit")}
# The analytics tables' summary row ("all" models, regions ...).
ANALYTICS_ROW = {"all": _l("All")}

register("pm_checklist", PM_CHECKLIST)
register("pm_outcome", PM_OUTCOME)
register("analytics_row", ANALYTICS_ROW)
